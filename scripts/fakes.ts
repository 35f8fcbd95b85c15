// `npm run fakes`: starts local fakes of OpenAI, Anthropic, Deepgram, CoinGecko, Binance and an RSS feed (the same
// ones the tests use) on fixed loopback ports and prints the environment that points the server at them, for trying
// the real provider adapters and live enrichment without keys or network. Stop with Ctrl-C.
import { parseArgs } from "node:util"
import { startAnthropicFake } from "../test/fakes/AnthropicFake.ts"
import { startBinanceFake } from "../test/fakes/BinanceFake.ts"
import { startCoinGeckoFake } from "../test/fakes/CoinGeckoFake.ts"
import { startDeepgramFake } from "../test/fakes/DeepgramFake.ts"
import { startOpenAiFake } from "../test/fakes/OpenAiFake.ts"
import { startRssFake } from "../test/fakes/RssFake.ts"

const { values } = parseArgs({ options: { "base-port": { type: "string", default: "4010" } } })
const base = Number(values["base-port"])
if (!Number.isInteger(base) || base < 1024 || base > 65000) {
  console.error("usage: npm run fakes -- [--base-port 4010]  (ports base … base+5 are used)")
  process.exit(2)
}

const transcript = "What is the price of bitcoin today?"
const openai = await startOpenAiFake({ port: base, apiKey: "fake-openai-key", transcript })
const anthropic = await startAnthropicFake({ port: base + 1, apiKey: "fake-anthropic-key" })
const deepgram = await startDeepgramFake({ apiKey: "fake-deepgram-key", port: base + 2 })
deepgram.script({ transcript, endpointing: "speech_final" })
const coingecko = await startCoinGeckoFake({ port: base + 3 })
const binance = await startBinanceFake({ port: base + 4 })
const rss = await startRssFake({ port: base + 5 })

console.log(`fakes listening; put this in .env (or export it) and start the server:

STREAM_STT_PROVIDER=deepgram,openai
STREAM_LLM_PROVIDER=openai,anthropic
STREAM_TTS_PROVIDER=openai,deepgram
OPENAI_API_KEY=fake-openai-key
OPENAI_BASE_URL=${openai.url}
ANTHROPIC_API_KEY=fake-anthropic-key
ANTHROPIC_BASE_URL=${anthropic.url}
DEEPGRAM_API_KEY=${deepgram.apiKey}
DEEPGRAM_BASE_URL=${deepgram.url}
STREAM_ENRICHMENT=live
STREAM_COINGECKO_BASE_URL=${coingecko.url}
STREAM_BINANCE_BASE_URL=${binance.url}
STREAM_NEWS_FEEDS=${rss.feedUrl("/rss")},${rss.feedUrl("/atom")}
`)

const stop = async () => {
  await Promise.all([
    openai.close(),
    anthropic.close(),
    deepgram.close(),
    coingecko.close(),
    binance.close(),
    rss.close()
  ])
  process.exit(0)
}
process.on("SIGINT", stop)
process.on("SIGTERM", stop)

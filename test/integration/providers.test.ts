// Full sessions through the real server with real provider adapters (the real SDKs) against local fakes that speak
// each provider's protocol: both provider combinations, what the fakes received, and a provider killed mid-turn
// giving a clean error, with the next turn served by the fallback.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type AnthropicFake, startAnthropicFake } from "../fakes/AnthropicFake.ts"
import { type CoinGeckoFake, startCoinGeckoFake } from "../fakes/CoinGeckoFake.ts"
import { type DeepgramFake, startDeepgramFake } from "../fakes/DeepgramFake.ts"
import { type OpenAiFake, startOpenAiFake } from "../fakes/OpenAiFake.ts"
import { openSession, startServer, type TestServer, utterance } from "../support/TestServer.ts"

let openai: OpenAiFake
let anthropic: AnthropicFake
let deepgram: DeepgramFake
let coingecko: CoinGeckoFake

beforeAll(async () => {
  openai = await startOpenAiFake({ apiKey: "sk-test", transcript: "What is the price of bitcoin today?" })
  anthropic = await startAnthropicFake({ apiKey: "an-test" })
  deepgram = await startDeepgramFake()
  deepgram.script({ transcript: "What is the price of bitcoin today?" })
  coingecko = await startCoinGeckoFake()
})
afterAll(async () => {
  await Promise.all([openai.close(), anthropic.close(), deepgram.close(), coingecko.close()])
})

const providerEnv = () => ({
  OPENAI_API_KEY: "sk-test",
  OPENAI_BASE_URL: openai.url,
  ANTHROPIC_API_KEY: "an-test",
  ANTHROPIC_BASE_URL: anthropic.url,
  ANTHROPIC_MODEL: "claude-sonnet-4-6",
  DEEPGRAM_API_KEY: deepgram.apiKey,
  DEEPGRAM_BASE_URL: deepgram.url,
  STREAM_LLM_RETRIES: "0",
  STREAM_TTS_RETRIES: "0"
})

/** One spoken turn (speech, a little silence, commit) through `server`; resolves with the client after the reply. */
const spokenTurn = async (server: TestServer) => {
  const client = await openSession(server, "alice", { output: { sampleRate: 24000 } })
  for (const frame of utterance(800, 100)) client.ws.send(frame)
  client.send({ type: "input.commit" })
  await client.waitFor((c) => c.find("response.done") !== undefined || c.find("error") !== undefined, "the reply")
  return client
}

describe("full sessions with real provider adapters over fakes", () => {
  it("deepgram STT + openai LLM + openai TTS", async () => {
    const server = await startServer({
      ...providerEnv(),
      STREAM_STT_PROVIDER: "deepgram",
      STREAM_LLM_PROVIDER: "openai",
      STREAM_TTS_PROVIDER: "openai"
    })
    try {
      const before = { chat: openai.requests.length, listen: deepgram.connections.length }
      const client = await spokenTurn(server)
      expect(client.ofType("error")).toEqual([])
      expect(client.find("transcript.final")?.text).toBe("What is the price of bitcoin today?")
      const done = client.find("response.done")!
      expect(done.text.length).toBeGreaterThan(0)
      expect(client.audioBytes).toBe(client.find("response.audio.done")!.bytes)
      expect(client.audioBytes).toBeGreaterThan(0)

      const listen = deepgram.connections[before.listen]!
      expect(listen.query.sample_rate).toBe("16000")
      expect(listen.query.encoding).toBe("linear16")
      const chat = openai.requests.slice(before.chat).find((r) => r.path.endsWith("/chat/completions"))!
      expect(chat.headers.authorization).toBe("Bearer sk-test")
      const body = chat.json as { model: string; messages: Array<{ role: string; content: string }> }
      expect(body.model).toBe("gpt-4o-mini")
      expect(body.messages[0]!.role).toBe("system")
      expect(body.messages[0]!.content).toContain("source mock")
      expect(body.messages.at(-1)).toEqual({ role: "user", content: "What is the price of bitcoin today?" })
      const speech = openai.requests.slice(before.chat).filter((r) => r.path.endsWith("/audio/speech"))
      expect(speech.length).toBeGreaterThan(0)
      expect((speech[0]!.json as { response_format: string }).response_format).toBe("pcm")
      await client.close()
    } finally {
      await server.stop()
    }
  })

  it("openai STT + anthropic LLM + deepgram TTS", async () => {
    const server = await startServer({
      ...providerEnv(),
      STREAM_STT_PROVIDER: "openai",
      STREAM_LLM_PROVIDER: "anthropic",
      STREAM_TTS_PROVIDER: "deepgram"
    })
    try {
      const before = {
        transcriptions: openai.requests.length,
        messages: anthropic.requests.length,
        speak: deepgram.requests.length
      }
      const client = await spokenTurn(server)
      expect(client.ofType("error")).toEqual([])
      expect(client.find("transcript.final")?.text).toBe("What is the price of bitcoin today?")
      expect(client.find("response.done")!.text.length).toBeGreaterThan(0)
      expect(client.audioBytes).toBeGreaterThan(0)
      expect(openai.requests.slice(before.transcriptions).some((r) => r.path.endsWith("/audio/transcriptions"))).toBe(
        true
      )
      const message = anthropic.requests[before.messages]!
      expect(message.headers["anthropic-version"]).toBeDefined()
      expect((message.json as { system: string }).system).toContain("source mock")
      const speak = deepgram.requests.slice(before.speak)
      expect(speak.length).toBeGreaterThan(0)
      expect(speak[0]!.query.sample_rate).toBe("24000")
      await client.close()
    } finally {
      await server.stop()
    }
  })

  it("an LLM dropping mid-turn gives a clean llm_failed error; the next turn is served by the fallback", async () => {
    const server = await startServer({
      ...providerEnv(),
      STREAM_STT_PROVIDER: "mock",
      STREAM_LLM_PROVIDER: "openai,anthropic",
      STREAM_TTS_PROVIDER: "mock",
      STREAM_CIRCUIT_FAILURES: "1",
      STREAM_CIRCUIT_COOLDOWN_MS: "60000"
    })
    try {
      const client = await openSession(server, "fallback")
      // The OpenAI fake sends two deltas, then its socket dies: output already sent is not replayed elsewhere.
      openai.script("chat", { kind: "drop", afterChunks: 2 })
      client.send({ type: "input.text", text: "bitcoin?" })
      const failed = await client.waitForEvent("error")
      expect(failed).toMatchObject({ code: "llm_failed", turn: 1, recoverable: true })
      expect(client.find("response.done", (d) => d.turn === 1)).toBeUndefined()

      // OpenAI now refuses outright: the chain falls back to Anthropic before any output.
      openai.script("chat", { kind: "status", status: 500 })
      const anthropicBefore = anthropic.requests.length
      client.send({ type: "input.text", text: "and now?" })
      const done = await client.waitForEvent("response.done", (d) => d.turn === 2)
      expect(done.text.length).toBeGreaterThan(0)
      expect(anthropic.requests.length).toBe(anthropicBefore + 1)
      await client.close()
    } finally {
      openai.reset()
      await server.stop()
    }
  })

  it("live enrichment: the context event carries CoinGecko's price, and the LLM's prompt (and the answer) use it", async () => {
    const server = await startServer({
      ...providerEnv(),
      STREAM_ENRICHMENT: "live",
      STREAM_COINGECKO_BASE_URL: coingecko.url,
      STREAM_PRICE_SOURCES: "coingecko",
      STREAM_NEWS_FEEDS: "none",
      STREAM_ENRICHMENT_BUDGET_MS: "2000",
      STREAM_LLM_PROVIDER: "mock,openai"
    })
    try {
      const client = await openSession(server, "prices")
      client.send({ type: "input.text", text: "what is the price of bitcoin?" })
      const done = await client.waitForEvent("response.done")
      const quote = client.find("context")!.context.prices.find((p) => p.symbol === "BTC")!
      expect(quote.source).toContain("coingecko")
      const spoken = quote.price.toLocaleString("en-US", { maximumFractionDigits: 2, minimumFractionDigits: 2 })
      expect(done.text).toContain(spoken)
      expect(coingecko.requests.some((r) => r.userAgent?.startsWith("voice-stream/"))).toBe(true)
      await client.close()
    } finally {
      await server.stop()
    }
    const viaOpenAi = await startServer({
      ...providerEnv(),
      STREAM_ENRICHMENT: "live",
      STREAM_COINGECKO_BASE_URL: coingecko.url,
      STREAM_PRICE_SOURCES: "coingecko",
      STREAM_NEWS_FEEDS: "none",
      STREAM_ENRICHMENT_BUDGET_MS: "2000",
      STREAM_LLM_PROVIDER: "openai"
    })
    try {
      const before = openai.requests.length
      const client = await openSession(viaOpenAi, "prices")
      client.send({ type: "input.text", text: "what is the price of bitcoin?" })
      await client.waitForEvent("response.done")
      const quote = client.find("context")!.context.prices.find((p) => p.symbol === "BTC")!
      const chat = openai.requests.slice(before).find((r) => r.path.endsWith("/chat/completions"))!
      const system = (chat.json as { messages: Array<{ content: string }> }).messages[0]!.content
      expect(system).toContain(String(quote.price))
      expect(system).toContain(quote.asOf)
      await client.close()
    } finally {
      await viaOpenAi.stop()
    }
  })
})

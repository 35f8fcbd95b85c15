// Asset detection (src/enrichment/AssetDetector.ts) over the shipped list (config/assets.json): names, tickers and
// spellings, case/punctuation/accents, word boundaries, longest match, order of first mention, contextual words that
// need a cue, partial transcripts, and texts that must find nothing. Also the list's own validation.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { InvalidConfig } from "../../src/config/readVar.ts"
import { DefaultAssetsFile, loadAssetCatalog } from "../../src/enrichment/AssetCatalog.ts"
import { makeAssetDetector } from "../../src/enrichment/AssetDetector.ts"
import { asksForNews } from "../../src/enrichment/NewsIntent.ts"

const catalog = Effect.runSync(loadAssetCatalog(DefaultAssetsFile))
const detector = makeAssetDetector(catalog)
const symbols = (text: string) => detector.detect(text).map((a) => a.symbol)

// [what the user said (or a partial transcript of it), the symbols expected in order of first mention]
const table: ReadonlyArray<readonly [string, ReadonlyArray<string>]> = [
  // names, tickers, spellings
  ["What is the price of bitcoin?", ["BTC"]],
  ["how is BTC doing today", ["BTC"]],
  ["Bit coin price please", ["BTC"]],
  ["what about ether", ["ETH"]],
  ["ETH gas fees?", ["ETH"]],
  ["how's etherium looking", ["ETH"]],
  ["solana", ["SOL"]],
  ["is SOL up?", ["SOL"]],
  ["doge to the moon", ["DOGE"]],
  ["dogecoin and shiba inu", ["DOGE", "SHIB"]],
  ["what is x r p at", ["XRP"]],
  ["B.T.C. or E.T.H.?", ["BTC", "ETH"]],
  // case, punctuation, accents, possessives, plurals
  ["BITCOIN!!!", ["BTC"]],
  ["bitcoin's rally", ["BTC"]],
  ["Éther, cardano; and… SOLANA.", ["ETH", "ADA", "SOL"]],
  ["I want to buy two bitcoins", ["BTC"]],
  ["$sol vs $eth", ["SOL", "ETH"]],
  // order of first mention, each once
  ["compare ethereum with bitcoin, then bitcoin again", ["ETH", "BTC"]],
  ["btc eth sol doge xrp", ["BTC", "ETH", "SOL", "DOGE", "XRP"]],
  // longest match first
  ["how is bitcoin cash doing", ["BCH"]],
  ["ethereum classic versus ethereum", ["ETC", "ETH"]],
  ["usd coin reserves", ["USDC"]],
  // contextual words: only with a cue
  ["what's the price of link", ["LINK"]],
  ["how much is $LINK worth", ["LINK"]],
  ["Is LINK up today?", ["LINK"]],
  ["ton coin price", ["TON"]],
  ["near token chart", ["NEAR"]],
  // partial transcripts, as STT sends them while the user speaks
  ["what is the price of bit", []],
  ["what is the price of bitc", []],
  ["what is the price of bitcoin", ["BTC"]],
  ["how are eth and so", ["ETH"]],
  ["how are eth and sol", ["ETH", "SOL"]],
  // nothing to find
  ["what's the weather like tomorrow", []],
  ["the method is a solution for ethics", []],
  ["send me the link to the report", []],
  ["I ate a ton of food near the station", []],
  ["adapt the solana-like foocoin", ["SOL"]],
  ["tell me about foocoin and barcoin", []],
  ["etc etc and so on", []],
  ["", []]
]

describe("AssetDetector", () => {
  it("recognises at least 30 phrasings as expected", () => {
    assert.isAtLeast(table.length, 30)
    for (const [text, expected] of table) assert.deepStrictEqual(symbols(text), expected, JSON.stringify(text))
  })

  it("a text in capitals does not turn every common word into a ticker", () => {
    assert.deepStrictEqual(symbols("SEND ME THE LINK"), [])
    assert.deepStrictEqual(symbols("WHAT IS THE LINK PRICE"), ["LINK"])
  })

  it("reads only the start of a very long text", () => {
    assert.deepStrictEqual(symbols(`${"blah ".repeat(1000)} bitcoin`), [])
  })

  it("news intent: general market or news questions", () => {
    assert.isTrue(asksForNews("any crypto news today?"))
    assert.isTrue(asksForNews("how is the market?"))
    assert.isFalse(asksForNews("what's the weather"))
  })
})

describe("AssetCatalog", () => {
  it("the shipped list has at least 20 assets, each with a CoinGecko id or a Binance symbol", () => {
    assert.isAtLeast(catalog.assets.length, 20)
    for (const asset of catalog.assets) assert.isTrue(asset.coingeckoId !== null || asset.binanceSymbol !== null)
  })

  const withFile = (content: string) =>
    Effect.acquireRelease(
      Effect.sync(() => {
        const dir = mkdtempSync(join(tmpdir(), "assets-"))
        writeFileSync(join(dir, "assets.json"), content)
        return dir
      }),
      (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
    ).pipe(Effect.map((dir) => join(dir, "assets.json")))

  const asset = (id: string, symbol: string, aliases: ReadonlyArray<string>) => ({
    id,
    name: id,
    symbol,
    coingeckoId: id,
    binanceSymbol: symbol,
    aliases,
    contextualAliases: []
  })

  const cases: ReadonlyArray<readonly [string, string, string]> = [
    ["bad JSON", "{", "is not valid"],
    ["no assets", JSON.stringify({ assets: [] }), "is not valid"],
    ["a lowercase symbol", JSON.stringify({ assets: [asset("x", "btc", ["x"])] }), "is not valid"],
    [
      "an alias claimed twice",
      JSON.stringify({ assets: [asset("a", "AAA", ["Bit-Coin"]), asset("b", "BBB", ["bit coin"])] }),
      'alias "bit coin" is claimed by "a" and "b"'
    ],
    ["an asset without alias", JSON.stringify({ assets: [asset("a", "AAA", [])] }), "has no alias"],
    ["a duplicate id", JSON.stringify({ assets: [asset("a", "AAA", ["a"]), asset("a", "BBB", ["b"])] }), "twice"]
  ]
  for (const [what, content, expected] of cases) {
    it.effect(`refuses ${what} with an InvalidConfig naming STREAM_ASSETS_FILE`, () =>
      Effect.gen(function* () {
        const file = yield* withFile(content)
        const error = yield* Effect.flip(loadAssetCatalog(file))
        assert.instanceOf(error, InvalidConfig)
        assert.strictEqual(error.variable, "STREAM_ASSETS_FILE")
        assert.include(error.message, expected)
      })
    )
  }

  it.effect("a missing file is an InvalidConfig", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(loadAssetCatalog("/nonexistent/assets.json"))
      assert.include(error.message, "cannot be read")
    })
  )
})

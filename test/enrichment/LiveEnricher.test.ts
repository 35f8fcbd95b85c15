// The live enricher end to end against the CoinGecko, Binance and RSS fakes (real HTTP on 127.0.0.1, real time):
// prices and filtered headlines, single-flight under 100 concurrent turns, fallback to the next source, 429 backoff,
// the budget (answers in time with the late part named, the fetch going on for the next turn), stale values with
// their real age, prime warming the cache, malformed upstream data never turning into context, no lookups for
// unknown assets, the User-Agent, and no user text in the logs.
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import type { EnrichmentSettings } from "../../src/config/EnrichmentSettings.ts"
import type { EnrichmentContext } from "../../src/domain/Enrichment.ts"
import { makeLiveEnricher, waitWithinBudget } from "../../src/enrichment/LiveEnricher.ts"
import { eventually, type Fakes, fakes, LogCapture, liveServices, settingsFor, sleep } from "./support/Live.ts"

const enricherFor = (f: Fakes, overrides: Partial<EnrichmentSettings> = {}, env: Record<string, string> = {}) =>
  Effect.flatMap(settingsFor(f, overrides, env), makeLiveEnricher)

/** Runs enrich and measures it in real time. */
const timedEnrich = (enrich: (text: string) => Effect.Effect<EnrichmentContext, unknown>, text: string) =>
  Effect.gen(function* () {
    const started = Date.now()
    const context = yield* Effect.orDie(enrich(text))
    return { context, ms: Date.now() - started }
  })

const symbolsOf = (context: EnrichmentContext) => context.prices.map((p) => p.symbol)

describe("LiveEnricher (against the fakes)", () => {
  it.live("'what is the price of bitcoin?': the CoinGecko price and bitcoin headlines, nothing missing", () =>
    Effect.gen(function* () {
      const f = yield* fakes
      const enricher = yield* enricherFor(f, { budgetMs: 2000 })
      const context = yield* Effect.orDie(enricher.enrich("What is the price of bitcoin?"))
      assert.strictEqual(enricher.provider, "live")
      assert.deepStrictEqual(
        context.prices.map((p) => [p.symbol, p.price, p.fiat, p.change24hPct, p.source]),
        [["BTC", 97250.12, "usd", 2.31, "coingecko"]]
      )
      assert.match(context.prices[0]!.asOf, /^\d{4}-\d\d-\d\dT/)
      // The story is in both feeds (once with a tracking parameter): it appears once.
      assert.deepStrictEqual(
        context.headlines.map((h) => [h.title, h.source]),
        [["Bitcoin climbs past $97,000 as ETF inflows return", "Coin Wire"]]
      )
      assert.deepStrictEqual(context.missing, [])
      assert.strictEqual(f.binance.tickerCalls, 0, "the first source answered")
    }).pipe(Effect.provide(liveServices()))
  )

  it.live("single-flight: 100 concurrent turns asking for BTC make ONE call to each upstream", () =>
    Effect.gen(function* () {
      const f = yield* fakes
      f.coingecko.script({ kind: "ok", delayMs: 100 })
      const enricher = yield* enricherFor(f, { budgetMs: 3000 })
      const contexts = yield* Effect.forEach(
        Array.from({ length: 100 }),
        () => Effect.orDie(enricher.enrich("how is bitcoin doing?")),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(f.coingecko.priceCalls, 1)
      assert.strictEqual(f.rss.callsTo("/rss"), 1)
      assert.strictEqual(f.rss.callsTo("/atom"), 1)
      for (const context of contexts) assert.deepStrictEqual(symbolsOf(context), ["BTC"])
    }).pipe(Effect.provide(liveServices()))
  )

  it.live("fallback: CoinGecko answering 500 → the price comes from Binance", () =>
    Effect.gen(function* () {
      const f = yield* fakes
      f.coingecko.always({ kind: "status", status: 500 })
      const enricher = yield* enricherFor(f, { budgetMs: 2000, newsFeeds: [] })
      const context = yield* Effect.orDie(enricher.enrich("price of ETH"))
      assert.deepStrictEqual(
        context.prices.map((p) => [p.symbol, p.price, p.source]),
        [["ETH", 3411.98, "binance (ETHUSDT)"]]
      )
      assert.deepStrictEqual(context.missing, [])
      assert.strictEqual(f.coingecko.priceCalls, 1)
    }).pipe(Effect.provide(liveServices()))
  )

  it.live("the order follows STREAM_PRICE_SOURCES", () =>
    Effect.gen(function* () {
      const f = yield* fakes
      const enricher = yield* enricherFor(
        f,
        { budgetMs: 2000, newsFeeds: [] },
        { STREAM_PRICE_SOURCES: "binance,coingecko" }
      )
      const context = yield* Effect.orDie(enricher.enrich("bitcoin"))
      assert.strictEqual(context.prices[0]?.source, "binance (BTCUSDT)")
      assert.strictEqual(f.coingecko.priceCalls, 0)
    }).pipe(Effect.provide(liveServices()))
  )

  it.live("every source failing: no price, and `missing` names each source's reason", () =>
    Effect.gen(function* () {
      const f = yield* fakes
      f.coingecko.always({ kind: "status", status: 503 })
      f.binance.always({ kind: "status", status: 429, headers: { "retry-after": "60" } })
      const enricher = yield* enricherFor(f, { budgetMs: 2000, newsFeeds: [] })
      const context = yield* Effect.orDie(enricher.enrich("bitcoin?"))
      assert.deepStrictEqual(context.prices, [])
      assert.deepStrictEqual(context.missing, ["BTC price (coingecko: unavailable; binance: rate-limited)"])
    }).pipe(Effect.provide(liveServices()))
  )

  it.live("429 backoff: CoinGecko is skipped while its Retry-After runs; Binance serves meanwhile", () =>
    Effect.gen(function* () {
      const f = yield* fakes
      f.coingecko.script({ kind: "status", status: 429, headers: { "retry-after": "60" } })
      // Prices expire at once, so each turn needs an upstream answer.
      const enricher = yield* enricherFor(f, { budgetMs: 2000, newsFeeds: [], priceTtlMs: 1, priceMaxStaleMs: 1 })
      for (let turn = 0; turn < 3; turn++) {
        const context = yield* Effect.orDie(enricher.enrich("solana price"))
        assert.strictEqual(context.prices[0]?.source, "binance (SOLUSDT)", `turn ${turn}`)
        yield* sleep(5)
      }
      assert.strictEqual(f.coingecko.priceCalls, 1, "CoinGecko asked once, then left alone")
      assert.strictEqual(f.binance.tickerCalls, 3)
    }).pipe(Effect.provide(liveServices()))
  )

  it.live("budget: upstream hanging → enrich still answers within the budget, the late price named", () =>
    Effect.gen(function* () {
      const f = yield* fakes
      f.coingecko.script({ kind: "hang" })
      f.binance.always({ kind: "hang" })
      f.rss.always({ kind: "hang" })
      const enricher = yield* enricherFor(f, { budgetMs: 300 })
      const { context, ms } = yield* timedEnrich(enricher.enrich, "what's bitcoin at?")
      // Every upstream hangs, so an answer at all means the budget ended the wait; it waited that long first.
      assert.isAtLeast(ms, waitWithinBudget(300) - 5)
      assert.deepStrictEqual(context.prices, [])
      assert.deepStrictEqual(context.missing, ["BTC price (not ready in time)", "news (not ready in time)"])
    }).pipe(Effect.provide(liveServices()))
  )

  it.live("a slow answer is not lost: the fetch goes on after the budget and the next turn has it", () =>
    Effect.gen(function* () {
      const f = yield* fakes
      f.coingecko.script({ kind: "ok", delayMs: 400 })
      const enricher = yield* enricherFor(f, { budgetMs: 200, newsFeeds: [] })
      const first = yield* Effect.orDie(enricher.enrich("bitcoin price"))
      assert.deepStrictEqual(first.missing, ["BTC price (not ready in time)"])
      yield* sleep(400)
      const context = yield* Effect.orDie(enricher.enrich("and bitcoin now?"))
      assert.deepStrictEqual(symbolsOf(context), ["BTC"])
      assert.strictEqual(f.coingecko.priceCalls, 1)
    }).pipe(Effect.provide(liveServices()))
  )

  it.live("stale-while-revalidate: a stale price is served at once with its real as-of, named, and refreshed", () =>
    Effect.gen(function* () {
      const f = yield* fakes
      const asOf = Math.floor(Date.now() / 1000) - 200
      f.coingecko.setCoin("bitcoin", { prices: { usd: 95000 }, change24h: { usd: 1 }, lastUpdatedAt: asOf })
      const enricher = yield* enricherFor(f, { budgetMs: 300, newsFeeds: [], priceTtlMs: 200, priceMaxStaleMs: 60_000 })
      yield* Effect.orDie(enricher.enrich("bitcoin"))
      yield* sleep(250)
      f.coingecko.setCoin("bitcoin", { prices: { usd: 96000 }, change24h: { usd: 2 } })
      f.coingecko.script({ kind: "ok", delayMs: 500 }) // the refresh is slow (but within the fetch timeout)
      const context = yield* Effect.orDie(enricher.enrich("bitcoin again"))
      // The stale 95 000 (not the refresh's 96 000, which takes 500 ms) shows it did not wait for the refresh.
      assert.strictEqual(context.prices[0]?.price, 95000)
      assert.strictEqual(context.prices[0]?.asOf, new Date(asOf * 1000).toISOString())
      assert.strictEqual(context.missing.length, 1)
      assert.match(context.missing[0]!, /^live BTC price \(latest quote is (20\d s|3 min) old\)$/)
      yield* eventually(() => f.coingecko.priceCalls === 2)
      // Poll until the refresh lands: the new price is then fresh, with nothing missing.
      let refreshed = context
      for (let i = 0; i < 100 && refreshed.prices[0]?.price !== 96000; i++) {
        yield* sleep(20)
        refreshed = yield* Effect.orDie(enricher.enrich("bitcoin once more"))
      }
      assert.strictEqual(refreshed.prices[0]?.price, 96000)
      assert.deepStrictEqual(refreshed.missing, [])
      assert.strictEqual(f.coingecko.priceCalls, 2, "stale reads did not start more refreshes")
    }).pipe(Effect.provide(liveServices()))
  )

  it.live("a freshly fetched quote whose own as-of is hours old is served, and named as old", () =>
    Effect.gen(function* () {
      const f = yield* fakes
      const threeHoursAgo = Math.floor(Date.now() / 1000) - 3 * 3600
      f.coingecko.setCoin("bitcoin", { prices: { usd: 91000 }, lastUpdatedAt: threeHoursAgo })
      const enricher = yield* enricherFor(f, { budgetMs: 2000, newsFeeds: [] })
      const context = yield* Effect.orDie(enricher.enrich("bitcoin"))
      assert.strictEqual(context.prices[0]?.asOf, new Date(threeHoursAgo * 1000).toISOString())
      assert.strictEqual(context.prices[0]?.change24hPct, null)
      assert.deepStrictEqual(context.missing, ["live BTC price (latest quote is 3 h old)"])
    }).pipe(Effect.provide(liveServices()))
  )

  it.live("prime on partial transcripts starts fetching early, returns at once, and never fails", () =>
    Effect.gen(function* () {
      const f = yield* fakes
      f.coingecko.script({ kind: "ok", delayMs: 1000 })
      const enricher = yield* enricherFor(f, { budgetMs: 0 })
      yield* enricher.prime("what is the price of bit")
      yield* enricher.prime("what is the price of bitcoin")
      yield* enricher.prime("what is the price of bitcoin today")
      yield* eventually(() => f.coingecko.priceCalls === 1)
      // prime returned while upstream still takes its second: with a zero budget enrich has no price yet …
      const early = yield* Effect.orDie(enricher.enrich("what is the price of bitcoin today?"))
      assert.deepStrictEqual(symbolsOf(early), [])
      // … and once prime's fetch lands, the price is there without a second call.
      let context = early
      yield* eventually(() => symbolsOf(context).length > 0, 5000).pipe(
        Effect.raceFirst(
          Effect.forever(
            Effect.flatMap(Effect.orDie(enricher.enrich("what is the price of bitcoin today?")), (c) =>
              Effect.andThen(
                Effect.sync(() => {
                  context = c
                }),
                Effect.sleep(20)
              )
            )
          )
        )
      )
      assert.deepStrictEqual(symbolsOf(context), ["BTC"])
      assert.strictEqual(f.coingecko.priceCalls, 1)
      f.coingecko.always({ kind: "hang" })
      yield* enricher.prime("and ether?") // upstream hanging: still returns at once
    }).pipe(Effect.provide(liveServices()))
  )

  it.live("malformed upstream data everywhere: no crash, no number, every gap named", () =>
    Effect.gen(function* () {
      const f = yield* fakes
      f.coingecko.always({ kind: "body", body: '{"bitcoin":{"usd":"lots"}}' })
      f.binance.always({ kind: "body", body: '{"symbol":"BTCUSDT"}' })
      f.rss.always({
        kind: "body",
        body: "<rss><channel><item><title>Bitcoin to $1",
        contentType: "application/rss+xml"
      })
      const enricher = yield* enricherFor(f, { budgetMs: 2000 })
      const context = yield* Effect.orDie(enricher.enrich("bitcoin news"))
      assert.deepStrictEqual(context.prices, [])
      assert.deepStrictEqual(context.headlines, [])
      assert.deepStrictEqual(context.missing, [
        "BTC price (coingecko: sent unusable data; binance: sent unusable data)",
        "news (feeds unavailable)"
      ])
    }).pipe(Effect.provide(liveServices()))
  )

  it.live("news: a general question gets the newest headlines; an asset nobody writes about gets none, named", () =>
    Effect.gen(function* () {
      const f = yield* fakes
      const enricher = yield* enricherFor(f, { budgetMs: 2000, newsMax: 2 })
      const general = yield* Effect.orDie(enricher.enrich("any crypto news today?"))
      assert.deepStrictEqual(general.prices, [])
      assert.deepStrictEqual(
        general.headlines.map((h) => h.title),
        ["Bitcoin climbs past $97,000 as ETF inflows return", "Solana network upgrade goes live"]
      )
      const cardano = yield* Effect.orDie(enricher.enrich("how is cardano doing"))
      assert.deepStrictEqual(cardano.headlines, [])
      assert.deepStrictEqual(cardano.missing, [
        "ADA price (coingecko: does not list it; binance: does not list it)",
        "recent headlines about Cardano (none in the news feeds)"
      ])
    }).pipe(Effect.provide(liveServices()))
  )

  it.live("no asset and no news question: empty context, no upstream request at all", () =>
    Effect.gen(function* () {
      const f = yield* fakes
      const enricher = yield* enricherFor(f, { budgetMs: 2000 })
      yield* enricher.prime("what's the weather like")
      const context = yield* Effect.orDie(enricher.enrich("what's the weather like tomorrow?"))
      assert.deepStrictEqual(context, { prices: [], headlines: [], missing: [] })
      yield* sleep(50)
      assert.strictEqual(f.coingecko.requests.length + f.binance.requests.length + f.rss.requests.length, 0)
    }).pipe(Effect.provide(liveServices()))
  )

  it.live("at most 5 assets per question; the rest are named", () =>
    Effect.gen(function* () {
      const f = yield* fakes
      const enricher = yield* enricherFor(f, { budgetMs: 2000, newsFeeds: [] })
      const context = yield* Effect.orDie(enricher.enrich("btc eth sol doge xrp cardano"))
      assert.deepStrictEqual(f.coingecko.requests[0]?.query.ids, "bitcoin,ethereum,solana,dogecoin,ripple")
      assert.include(context.missing, "prices of 1 more asset (5 per question)")
    }).pipe(Effect.provide(liveServices()))
  )

  it.live("every upstream request carries the project's User-Agent; no user text is ever logged", () =>
    Effect.gen(function* () {
      const f = yield* fakes
      const logs = new LogCapture()
      f.coingecko.always({ kind: "status", status: 500 })
      f.binance.script({ kind: "status", status: 429 })
      f.rss.scriptPath("/atom", { kind: "body", body: "<feed>" })
      const context = yield* Effect.gen(function* () {
        const enricher = yield* enricherFor(f, { budgetMs: 2000 })
        yield* enricher.prime("zebra-secret how is bitcoin")
        return yield* Effect.orDie(enricher.enrich("zebra-secret how is bitcoin doing"))
      }).pipe(Effect.provide(liveServices(logs)))
      assert.deepStrictEqual(context.prices, [])
      const all = [...f.coingecko.requests, ...f.binance.requests, ...f.rss.requests]
      assert.isAtLeast(all.length, 4)
      for (const request of all) assert.match(request.userAgent ?? "", /^voice-stream\/\d+\.\d+\.\d+ \(.+\)$/)
      assert.isAbove(logs.lines.length, 0, "failures were logged")
      for (const line of logs.lines) assert.notInclude(line, "zebra")
    })
  )
})

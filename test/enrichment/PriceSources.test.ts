// The HTTP price sources against their local fakes (real HTTP on 127.0.0.1): CoinGecko and Binance request shapes
// and User-Agent, decoding, as-of from the payload, assets a source does not list, fiats Binance cannot quote, every
// kind of malformed payload (left out, never a guessed number), 500/429/hang/drop/oversized answers.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Result } from "effect"
import { RateLimiter } from "effect/persistence"
import type { EnrichmentSettings } from "../../src/config/EnrichmentSettings.ts"
import { makeBinancePrices } from "../../src/enrichment/BinancePrices.ts"
import { makeCoinGeckoPrices } from "../../src/enrichment/CoinGeckoPrices.ts"
import type { AssetQuotes, PriceSource } from "../../src/enrichment/PriceSource.ts"
import type { SourceError } from "../../src/enrichment/SourceError.ts"
import { makeSourceGate } from "../../src/enrichment/SourceGate.ts"
import { makeUpstream } from "../../src/enrichment/UpstreamHttp.ts"
import { type Fakes, fakes, liveServices, settingsFor } from "./support/Live.ts"

type Which = "coingecko" | "binance"

const source = (which: Which, f: Fakes, overrides: Partial<EnrichmentSettings> = {}, maxBytes = 100_000) =>
  Effect.gen(function* () {
    const settings = yield* settingsFor(f, overrides)
    const limiter = yield* RateLimiter.RateLimiter
    const upstream = yield* makeUpstream({
      userAgent: settings.userAgent,
      timeoutMs: settings.fetchTimeoutMs,
      maxBytes
    })
    const gate = makeSourceGate({ source: which, ratePerMin: 1000 }, limiter)
    const make = which === "coingecko" ? makeCoinGeckoPrices : makeBinancePrices
    const priceSource: PriceSource = make(
      { baseUrl: which === "coingecko" ? f.coingecko.url : f.binance.url, fiat: settings.fiat },
      upstream,
      gate
    )
    return { priceSource, settings, gate }
  })

const quotesFor = (priceSource: PriceSource, settings: EnrichmentSettings, ids: ReadonlyArray<string>) =>
  priceSource.quotes(ids.map((id) => settings.assets.byId.get(id)!))

const reasonOf = (quotes: AssetQuotes, id: string) => {
  const r = quotes.get(id)
  return r === undefined ? "absent" : Result.isSuccess(r) ? "ok" : r.failure.reason
}

const failureOf = <A>(exit: Exit.Exit<A, SourceError>) => {
  const e = Exit.findErrorOption(exit)
  return e._tag === "Some" ? e.value : undefined
}

describe("CoinGeckoPrices (against CoinGeckoFake)", () => {
  it.live("one GET /api/v3/simple/price for all assets, with the project's User-Agent; quotes decoded", () =>
    Effect.gen(function* () {
      const f = yield* fakes
      f.coingecko.setCoin("bitcoin", {
        prices: { usd: 97250.12 },
        change24h: { usd: 2.31 },
        lastUpdatedAt: 1_790_000_000
      })
      const { priceSource, settings } = yield* source("coingecko", f)
      const quotes = yield* quotesFor(priceSource, settings, ["bitcoin", "ethereum"])
      assert.strictEqual(f.coingecko.priceCalls, 1)
      const request = f.coingecko.requests[0]!
      assert.strictEqual(request.path, "/api/v3/simple/price")
      assert.deepStrictEqual(request.query, {
        ids: "bitcoin,ethereum",
        vs_currencies: "usd",
        include_24hr_change: "true",
        include_last_updated_at: "true"
      })
      assert.match(request.userAgent ?? "", /^voice-stream\/\d+\.\d+\.\d+ \(/)
      assert.strictEqual(request.headers.accept, "application/json")
      const btc = quotes.get("bitcoin")
      assert.isTrue(btc !== undefined && Result.isSuccess(btc))
      assert.deepStrictEqual(Result.isSuccess(btc!) ? btc.success : undefined, {
        asset: "Bitcoin",
        symbol: "BTC",
        price: 97250.12,
        fiat: "usd",
        change24hPct: 2.31,
        source: "coingecko",
        asOf: new Date(1_790_000_000_000).toISOString()
      })
      assert.strictEqual(reasonOf(quotes, "ethereum"), "ok")
    }).pipe(Effect.provide(liveServices()))
  )

  it.live("in another fiat (eur): vs_currencies=eur and eur figures", () =>
    Effect.gen(function* () {
      const f = yield* fakes
      const { priceSource, settings } = yield* source("coingecko", f, { fiat: "eur" })
      const quotes = yield* quotesFor(priceSource, settings, ["bitcoin"])
      assert.strictEqual(f.coingecko.requests[0]!.query.vs_currencies, "eur")
      const btc = quotes.get("bitcoin")!
      assert.isTrue(Result.isSuccess(btc) && btc.success.price === 89410.5 && btc.success.fiat === "eur")
    }).pipe(Effect.provide(liveServices()))
  )

  it.live("an asset it does not know is 'not listed'; the others are still quoted", () =>
    Effect.gen(function* () {
      const f = yield* fakes
      const { priceSource, settings } = yield* source("coingecko", f)
      const quotes = yield* quotesFor(priceSource, settings, ["bitcoin", "cardano"])
      assert.strictEqual(reasonOf(quotes, "bitcoin"), "ok")
      assert.strictEqual(reasonOf(quotes, "cardano"), "not_listed")
    }).pipe(Effect.provide(liveServices()))
  )

  it.live("malformed entries are left out, never guessed; a non-JSON body fails the whole answer", () =>
    Effect.gen(function* () {
      const f = yield* fakes
      const cases: ReadonlyArray<readonly [string, unknown]> = [
        ["missing price", { bitcoin: { usd_24h_change: 1.2 } }],
        ["price as text", { bitcoin: { usd: "97k" } }],
        ["zero price", { bitcoin: { usd: 0 } }],
        ["negative price", { bitcoin: { usd: -5 } }],
        ["change as text", { bitcoin: { usd: 97000, usd_24h_change: "lots" } }],
        ["entry not an object", { bitcoin: [97000] }],
        ["bad last_updated_at", { bitcoin: { usd: 97000, last_updated_at: "yesterday" } }]
      ]
      // A fresh source (and gate) per case: three unusable answers in a row would rightly open its circuit.
      for (const [what, body] of cases) {
        const { priceSource, settings } = yield* source("coingecko", f)
        f.coingecko.script({ kind: "body", body: JSON.stringify(body) })
        const quotes = yield* quotesFor(priceSource, settings, ["bitcoin"])
        assert.strictEqual(reasonOf(quotes, "bitcoin"), "malformed", what)
      }
      for (const body of ["{not json", "[1,2]", "null", "<html>oops</html>"]) {
        const { priceSource, settings } = yield* source("coingecko", f)
        f.coingecko.script({ kind: "body", body })
        const exit = yield* Effect.exit(quotesFor(priceSource, settings, ["bitcoin"]))
        assert.strictEqual(failureOf(exit)?.reason, "malformed", body)
      }
    }).pipe(Effect.provide(liveServices()))
  )

  it.live("500 → unavailable; 429 with Retry-After → rate_limited, then skipped without a request", () =>
    Effect.gen(function* () {
      const f = yield* fakes
      const { priceSource, settings, gate } = yield* source("coingecko", f)
      f.coingecko.script({ kind: "status", status: 500 })
      const down = yield* Effect.exit(quotesFor(priceSource, settings, ["bitcoin"]))
      assert.strictEqual(failureOf(down)?.reason, "unavailable")
      assert.strictEqual(failureOf(down)?.status, 500)
      f.coingecko.script({ kind: "status", status: 429, headers: { "retry-after": "30" } })
      const limited = yield* Effect.exit(quotesFor(priceSource, settings, ["bitcoin"]))
      assert.strictEqual(failureOf(limited)?.reason, "rate_limited")
      assert.strictEqual(failureOf(limited)?.retryAfterMs, 30_000)
      const skipped = yield* Effect.exit(quotesFor(priceSource, settings, ["bitcoin"]))
      assert.strictEqual(failureOf(skipped)?.reason, "backing_off")
      assert.strictEqual(f.coingecko.priceCalls, 2, "nothing sent while backing off")
      assert.isAbove(yield* gate.backoffRemainingMs, 29_000)
    }).pipe(Effect.provide(liveServices()))
  )

  it.live("a hanging server times out within the fetch timeout; a dropped connection is unavailable", () =>
    Effect.gen(function* () {
      const f = yield* fakes
      const { priceSource, settings } = yield* source("coingecko", f, { fetchTimeoutMs: 300 })
      f.coingecko.script({ kind: "hang" }, { kind: "drop" })
      const started = Date.now()
      const hung = yield* Effect.exit(quotesFor(priceSource, settings, ["bitcoin"]))
      const took = Date.now() - started
      assert.strictEqual(failureOf(hung)?.reason, "timeout")
      // The fake hangs for ever: failing at all is the fetch timeout; it waited at least that long.
      assert.isAtLeast(took, 290)
      const dropped = yield* Effect.exit(quotesFor(priceSource, settings, ["bitcoin"]))
      assert.strictEqual(failureOf(dropped)?.reason, "unavailable")
    }).pipe(Effect.provide(liveServices()))
  )

  it.live("an oversized body is refused", () =>
    Effect.gen(function* () {
      const f = yield* fakes
      const { priceSource, settings } = yield* source("coingecko", f, {}, 1000)
      f.coingecko.script({ kind: "body", body: JSON.stringify({ bitcoin: { usd: 1, pad: "x".repeat(5000) } }) })
      const exit = yield* Effect.exit(quotesFor(priceSource, settings, ["bitcoin"]))
      assert.strictEqual(failureOf(exit)?.reason, "malformed")
    }).pipe(Effect.provide(liveServices()))
  )
})

describe("BinancePrices (against BinanceFake)", () => {
  it.live("GET /api/v3/ticker/24hr?symbol=<SYM>USDT per asset; USDT stands in for usd and says so", () =>
    Effect.gen(function* () {
      const f = yield* fakes
      f.binance.setTicker("BTCUSDT", {
        lastPrice: "97251.50000000",
        priceChangePercent: "2.290",
        closeTime: 1_790_000_123_456
      })
      const { priceSource, settings } = yield* source("binance", f)
      const quotes = yield* quotesFor(priceSource, settings, ["bitcoin", "ethereum"])
      assert.strictEqual(f.binance.tickerCalls, 2)
      assert.deepStrictEqual(f.binance.requests.map((r) => r.query.symbol).sort(), ["BTCUSDT", "ETHUSDT"])
      for (const r of f.binance.requests) assert.match(r.userAgent ?? "", /^voice-stream\//)
      const btc = quotes.get("bitcoin")!
      assert.deepStrictEqual(Result.isSuccess(btc) ? btc.success : undefined, {
        asset: "Bitcoin",
        symbol: "BTC",
        price: 97251.5,
        fiat: "usd",
        change24hPct: 2.29,
        source: "binance (BTCUSDT)",
        asOf: new Date(1_790_000_123_456).toISOString()
      })
    }).pipe(Effect.provide(liveServices()))
  )

  it.live("an unlisted pair (400 -1121) or an asset without a Binance symbol is 'not listed'", () =>
    Effect.gen(function* () {
      const f = yield* fakes
      const { priceSource, settings } = yield* source("binance", f)
      const quotes = yield* quotesFor(priceSource, settings, ["cardano", "tether"])
      assert.strictEqual(reasonOf(quotes, "cardano"), "not_listed")
      assert.strictEqual(reasonOf(quotes, "tether"), "not_listed")
      assert.strictEqual(f.binance.tickerCalls, 1, "tether has no pair: not asked")
    }).pipe(Effect.provide(liveServices()))
  )

  it.live("a fiat other than usd is not supported: nothing is asked", () =>
    Effect.gen(function* () {
      const f = yield* fakes
      const { priceSource, settings } = yield* source("binance", f, { fiat: "eur" })
      const quotes = yield* quotesFor(priceSource, settings, ["bitcoin"])
      assert.strictEqual(reasonOf(quotes, "bitcoin"), "unsupported")
      assert.strictEqual(f.binance.tickerCalls, 0)
    }).pipe(Effect.provide(liveServices()))
  )

  it.live("malformed tickers are left out: missing fields, empty or hex strings, another symbol, bad JSON", () =>
    Effect.gen(function* () {
      const f = yield* fakes
      for (const body of [
        JSON.stringify({ symbol: "BTCUSDT" }),
        JSON.stringify({ symbol: "BTCUSDT", lastPrice: "" }),
        JSON.stringify({ symbol: "BTCUSDT", lastPrice: "0x10" }),
        JSON.stringify({ symbol: "BTCUSDT", lastPrice: 97000 }),
        JSON.stringify({ symbol: "BTCUSDT", lastPrice: "0.00000000" }),
        JSON.stringify({ symbol: "BTCUSDT", lastPrice: "97000.1", priceChangePercent: "" }),
        JSON.stringify({ symbol: "ETHUSDT", lastPrice: "3400.00" }),
        "{oops"
      ]) {
        const { priceSource, settings } = yield* source("binance", f)
        f.binance.script({ kind: "body", body })
        const quotes = yield* quotesFor(priceSource, settings, ["bitcoin"])
        assert.strictEqual(reasonOf(quotes, "bitcoin"), "malformed", body)
      }
    }).pipe(Effect.provide(liveServices()))
  )

  it.live("418 (Binance's ban) is treated like a 429 with its Retry-After", () =>
    Effect.gen(function* () {
      const f = yield* fakes
      const { priceSource, settings, gate } = yield* source("binance", f)
      f.binance.script({ kind: "status", status: 418, headers: { "retry-after": "120" } })
      const quotes = yield* quotesFor(priceSource, settings, ["bitcoin"])
      assert.strictEqual(reasonOf(quotes, "bitcoin"), "rate_limited")
      assert.isAbove(yield* gate.backoffRemainingMs, 119_000)
    }).pipe(Effect.provide(liveServices()))
  )
})

// Enrichment settings (src/config/EnrichmentSettings.ts): defaults, and every malformed value refused with an
// InvalidConfig naming its variable.
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect } from "effect"
import { DefaultNewsFeeds, readEnrichmentSettings } from "../../src/config/EnrichmentSettings.ts"
import { InvalidConfig } from "../../src/config/readVar.ts"

const read = (env: Record<string, string>) =>
  readEnrichmentSettings.pipe(Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env })))

describe("EnrichmentSettings", () => {
  it.effect("defaults: mock, coingecko then binance, usd, two public feeds, 15 s prices, 5 min news", () =>
    Effect.gen(function* () {
      const s = yield* read({})
      assert.strictEqual(s.mode, "mock")
      assert.deepStrictEqual(s.priceSources, ["coingecko", "binance"])
      assert.strictEqual(s.coingeckoBaseUrl, "https://api.coingecko.com")
      assert.strictEqual(s.binanceBaseUrl, "https://api.binance.com")
      assert.strictEqual(s.fiat, "usd")
      assert.deepStrictEqual(s.newsFeeds, DefaultNewsFeeds)
      assert.strictEqual(s.newsMax, 3)
      assert.strictEqual(s.priceTtlMs, 15_000)
      assert.strictEqual(s.priceMaxStaleMs, 120_000)
      assert.strictEqual(s.newsTtlMs, 300_000)
      assert.strictEqual(s.newsMaxStaleMs, 3_600_000)
      assert.strictEqual(s.cacheMax, 1000)
      assert.strictEqual(s.priceRatePerMin, 10)
      assert.strictEqual(s.newsRatePerMin, 6)
      assert.strictEqual(s.fetchTimeoutMs, 2000)
      assert.strictEqual(s.budgetMs, 300)
      assert.isAtLeast(s.assets.assets.length, 20)
      assert.match(s.userAgent, /^voice-stream\/\d+\.\d+\.\d+ \(/)
    })
  )

  it.effect("accepts live, a reordered list, other URLs (trailing slash dropped), EUR, and news off", () =>
    Effect.gen(function* () {
      const s = yield* read({
        STREAM_ENRICHMENT: "live",
        STREAM_PRICE_SOURCES: " Binance , coingecko ",
        STREAM_COINGECKO_BASE_URL: "http://127.0.0.1:9999/",
        STREAM_FIAT: "EUR",
        STREAM_NEWS_FEEDS: "none"
      })
      assert.strictEqual(s.mode, "live")
      assert.deepStrictEqual(s.priceSources, ["binance", "coingecko"])
      assert.strictEqual(s.coingeckoBaseUrl, "http://127.0.0.1:9999")
      assert.strictEqual(s.fiat, "eur")
      assert.deepStrictEqual(s.newsFeeds, [])
    })
  )

  const refused: ReadonlyArray<readonly [Record<string, string>, string, string]> = [
    [{ STREAM_ENRICHMENT: "real" }, "STREAM_ENRICHMENT", "allowed: mock, live"],
    [{ STREAM_PRICE_SOURCES: "coingecko,kraken" }, "STREAM_PRICE_SOURCES", '"kraken" is not a price source'],
    [{ STREAM_PRICE_SOURCES: "binance,binance" }, "STREAM_PRICE_SOURCES", "twice"],
    [{ STREAM_PRICE_SOURCES: " , " }, "STREAM_PRICE_SOURCES", "no source given"],
    [{ STREAM_COINGECKO_BASE_URL: "api.coingecko.com" }, "STREAM_COINGECKO_BASE_URL", "http(s) URL"],
    [{ STREAM_BINANCE_BASE_URL: "ftp://binance" }, "STREAM_BINANCE_BASE_URL", "http(s) URL"],
    [{ STREAM_FIAT: "us dollars" }, "STREAM_FIAT", "currency code"],
    [{ STREAM_NEWS_FEEDS: "https://ok.example.com/rss, not a url" }, "STREAM_NEWS_FEEDS", "not an http(s) URL"],
    [{ STREAM_NEWS_MAX: "0" }, "STREAM_NEWS_MAX", "from 1 to 20"],
    [{ STREAM_PRICE_TTL_MS: "15s" }, "STREAM_PRICE_TTL_MS", "integer"],
    [
      { STREAM_PRICE_TTL_MS: "60000", STREAM_PRICE_MAX_STALE_MS: "30000" },
      "STREAM_PRICE_MAX_STALE_MS",
      "at least STREAM_PRICE_TTL_MS"
    ],
    [{ STREAM_ENRICHMENT_CACHE_MAX: "1" }, "STREAM_ENRICHMENT_CACHE_MAX", "from 16"],
    [{ STREAM_PRICE_RATE_PER_MIN: "0" }, "STREAM_PRICE_RATE_PER_MIN", "from 1"],
    [{ STREAM_ENRICHMENT_FETCH_TIMEOUT_MS: "10" }, "STREAM_ENRICHMENT_FETCH_TIMEOUT_MS", "from 100"],
    [{ STREAM_ASSETS_FILE: "/nonexistent/assets.json" }, "STREAM_ASSETS_FILE", "cannot be read"]
  ]
  for (const [env, variable, message] of refused) {
    it.effect(`refuses ${JSON.stringify(env)} naming ${variable}`, () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(read(env))
        assert.instanceOf(error, InvalidConfig)
        assert.strictEqual(error.variable, variable)
        assert.include(error.message, message)
      })
    )
  }
})

// Settings of context enrichment (issue 5): mock or live, the price sources and their order, base URLs, fiat, news
// feeds, cache TTLs and staleness, upstream politeness, and the asset list. Every value is validated; a bad one is an
// InvalidConfig naming its variable. docs/configuration.md lists them.
import { Effect } from "effect"
import { type AssetCatalog, DefaultAssetsFile, loadAssetCatalog } from "../enrichment/AssetCatalog.ts"
import { type PriceSourceName, PriceSourceNames } from "../enrichment/PriceSource.ts"
import { readUserAgent } from "../enrichment/UserAgent.ts"
import { InvalidConfig, intVar, oneOfVar, stringVar } from "./readVar.ts"

export const EnrichmentModes = ["mock", "live"] as const
export type EnrichmentMode = (typeof EnrichmentModes)[number]

export const DefaultNewsFeeds = ["https://www.coindesk.com/arc/outboundfeeds/rss/", "https://cointelegraph.com/rss"]

export interface EnrichmentSettings {
  /** mock: fixed figures (default); live: the real sources below. */
  readonly mode: EnrichmentMode
  /** Price sources in fallback order. */
  readonly priceSources: ReadonlyArray<PriceSourceName>
  readonly coingeckoBaseUrl: string
  readonly binanceBaseUrl: string
  /** Lowercase currency code prices are quoted in (usd). */
  readonly fiat: string
  /** RSS/Atom feed URLs; empty when news is off. */
  readonly newsFeeds: ReadonlyArray<string>
  /** Headlines per turn. */
  readonly newsMax: number
  readonly priceTtlMs: number
  readonly priceMaxStaleMs: number
  readonly newsTtlMs: number
  readonly newsMaxStaleMs: number
  /** Entries per cache (prices, feeds). */
  readonly cacheMax: number
  /** Requests a minute to each price source. */
  readonly priceRatePerMin: number
  /** Requests a minute to each news feed. */
  readonly newsRatePerMin: number
  /** Longest one upstream request may take. */
  readonly fetchTimeoutMs: number
  /** The turn's enrichment budget (STREAM_ENRICHMENT_BUDGET_MS): enrich answers with what it has just before it. */
  readonly budgetMs: number
  /** The asset list, loaded and validated. */
  readonly assets: AssetCatalog
  readonly userAgent: string
}

const invalid = (variable: string, message: string) => new InvalidConfig({ variable, message })

const httpUrl = (variable: string, raw: string): Effect.Effect<string, InvalidConfig> => {
  const value = raw.trim()
  return /^https?:\/\//i.test(value) && URL.canParse(value)
    ? Effect.succeed(value.replace(/\/+$/, ""))
    : Effect.fail(invalid(variable, `${variable} must be an http(s) URL; got ${JSON.stringify(value)}`))
}

const urlVar = (variable: string, fallback: string) =>
  Effect.flatMap(stringVar(variable, fallback), (raw) => httpUrl(variable, raw))

const commaList = (raw: string) =>
  raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0)

const priceSources = (variable: string) =>
  Effect.flatMap(stringVar(variable, PriceSourceNames.join(",")), (raw) => {
    const names = commaList(raw.toLowerCase())
    const unknown = names.find((n) => !(PriceSourceNames as ReadonlyArray<string>).includes(n))
    if (names.length === 0 || unknown !== undefined) {
      return Effect.fail(
        invalid(
          variable,
          `${variable}=${JSON.stringify(raw)}: ${unknown === undefined ? "no source given" : `"${unknown}" is not a price source`}; allowed: ${PriceSourceNames.join(", ")} (a comma-separated fallback list)`
        )
      )
    }
    if (new Set(names).size !== names.length) {
      return Effect.fail(invalid(variable, `${variable} names a source twice: ${raw}`))
    }
    return Effect.succeed(names as ReadonlyArray<PriceSourceName>)
  })

const fiatVar = (variable: string) =>
  Effect.flatMap(stringVar(variable, "usd"), (raw) => {
    const value = raw.trim().toLowerCase()
    return /^[a-z]{3,5}$/.test(value)
      ? Effect.succeed(value)
      : Effect.fail(
          invalid(variable, `${variable} must be a currency code such as usd or eur; got ${JSON.stringify(raw)}`)
        )
  })

/** Comma-separated feed URLs; "none" turns news off. */
const feedsVar = (variable: string) =>
  Effect.flatMap(stringVar(variable, DefaultNewsFeeds.join(",")), (raw) => {
    if (raw.trim().toLowerCase() === "none") return Effect.succeed([] as ReadonlyArray<string>)
    const urls = commaList(raw)
    if (urls.length === 0)
      return Effect.fail(invalid(variable, `${variable} lists no feed (use "none" to turn news off)`))
    return Effect.forEach(urls, (url) =>
      /^https?:\/\//i.test(url) && URL.canParse(url)
        ? Effect.succeed(url)
        : Effect.fail(invalid(variable, `${variable}: ${JSON.stringify(url)} is not an http(s) URL`))
    ).pipe(Effect.map((list) => [...new Set(list)] as ReadonlyArray<string>))
  })

/** A staleness bound that must be at least the TTL it extends. */
const maxStaleVar = (variable: string, fallback: number, ttlMs: number, ttlVariable: string) =>
  Effect.flatMap(intVar(variable, Math.max(fallback, ttlMs), 0, 7 * 24 * 3600 * 1000), (value) =>
    value >= ttlMs
      ? Effect.succeed(value)
      : Effect.fail(invalid(variable, `${variable} (${value}) must be at least ${ttlVariable} (${ttlMs})`))
  )

export const readEnrichmentSettings: Effect.Effect<EnrichmentSettings, InvalidConfig> = Effect.gen(function* () {
  const mode = yield* oneOfVar("STREAM_ENRICHMENT", EnrichmentModes, "mock")
  const priceTtlMs = yield* intVar("STREAM_PRICE_TTL_MS", 15_000, 1000, 3_600_000)
  const newsTtlMs = yield* intVar("STREAM_NEWS_TTL_MS", 300_000, 10_000, 86_400_000)
  const assetsFile = (yield* stringVar("STREAM_ASSETS_FILE", DefaultAssetsFile)).trim()
  return {
    mode,
    priceSources: yield* priceSources("STREAM_PRICE_SOURCES"),
    coingeckoBaseUrl: yield* urlVar("STREAM_COINGECKO_BASE_URL", "https://api.coingecko.com"),
    binanceBaseUrl: yield* urlVar("STREAM_BINANCE_BASE_URL", "https://api.binance.com"),
    fiat: yield* fiatVar("STREAM_FIAT"),
    newsFeeds: yield* feedsVar("STREAM_NEWS_FEEDS"),
    newsMax: yield* intVar("STREAM_NEWS_MAX", 3, 1, 20),
    priceTtlMs,
    priceMaxStaleMs: yield* maxStaleVar("STREAM_PRICE_MAX_STALE_MS", 120_000, priceTtlMs, "STREAM_PRICE_TTL_MS"),
    newsTtlMs,
    newsMaxStaleMs: yield* maxStaleVar("STREAM_NEWS_MAX_STALE_MS", 3_600_000, newsTtlMs, "STREAM_NEWS_TTL_MS"),
    cacheMax: yield* intVar("STREAM_ENRICHMENT_CACHE_MAX", 1000, 16, 1_000_000),
    priceRatePerMin: yield* intVar("STREAM_PRICE_RATE_PER_MIN", 10, 1, 6000),
    newsRatePerMin: yield* intVar("STREAM_NEWS_RATE_PER_MIN", 6, 1, 600),
    fetchTimeoutMs: yield* intVar("STREAM_ENRICHMENT_FETCH_TIMEOUT_MS", 2000, 100, 30_000),
    budgetMs: yield* intVar("STREAM_ENRICHMENT_BUDGET_MS", 300, 0, 60_000),
    assets: yield* loadAssetCatalog(assetsFile, "STREAM_ASSETS_FILE"),
    userAgent: yield* readUserAgent
  }
})

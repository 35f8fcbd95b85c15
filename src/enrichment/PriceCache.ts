// The prices behind the cache: the configured sources (CoinGecko, Binance) in STREAM_PRICE_SOURCES order, each with
// its own gate (rate limit, 429 backoff, circuit), tried as a chain; cached per asset for STREAM_PRICE_TTL_MS, served
// stale up to STREAM_PRICE_MAX_STALE_MS, a failure remembered for 5 s (at most the TTL).
import type { Effect, Scope } from "effect"
import type { RateLimiter } from "effect/persistence"
import type { EnrichmentSettings } from "../config/EnrichmentSettings.ts"
import type { PriceQuote } from "../domain/Enrichment.ts"
import { makeBinancePrices } from "./BinancePrices.ts"
import { makeCache, type SwrCache } from "./Cache.ts"
import { makeCoinGeckoPrices } from "./CoinGeckoPrices.ts"
import { makePriceChain, type PriceMiss } from "./PriceChain.ts"
import type { PriceSource } from "./PriceSource.ts"
import { SourceError } from "./SourceError.ts"
import { makeSourceGate } from "./SourceGate.ts"
import type { Upstream } from "./UpstreamHttp.ts"

/** Assets per CoinGecko call. */
const PriceBatch = 25

/** Keyed by asset id (the fiat is fixed for the instance). */
export type PriceCache = SwrCache<PriceQuote, PriceMiss>

export const makePriceCache = (
  settings: EnrichmentSettings,
  upstream: Upstream,
  limiter: RateLimiter.RateLimiter
): Effect.Effect<PriceCache, never, Scope.Scope> => {
  const sources: ReadonlyArray<PriceSource> = settings.priceSources.map((name) => {
    const gate = makeSourceGate({ source: name, ratePerMin: settings.priceRatePerMin }, limiter)
    return name === "coingecko"
      ? makeCoinGeckoPrices({ baseUrl: settings.coingeckoBaseUrl, fiat: settings.fiat }, upstream, gate)
      : makeBinancePrices({ baseUrl: settings.binanceBaseUrl, fiat: settings.fiat }, upstream, gate)
  })
  const chain = makePriceChain(sources)
  const sourceNames = settings.priceSources.join(", ")
  return makeCache<PriceQuote, PriceMiss>({
    name: "prices",
    ttlMs: settings.priceTtlMs,
    maxStaleMs: settings.priceMaxStaleMs,
    failureTtlMs: Math.min(settings.priceTtlMs, 5000),
    capacity: settings.cacheMax,
    // Each source in turn may take the whole fetch timeout.
    timeoutMs: settings.fetchTimeoutMs * Math.max(1, sources.length) + 500,
    maxBatch: PriceBatch,
    fetch: (ids) => chain(ids.flatMap((id) => settings.assets.byId.get(id) ?? [])),
    lost: (_, why) => ({
      failures: [
        new SourceError({ source: sourceNames, reason: why === "timeout" ? "timeout" : "unavailable", message: why })
      ]
    })
  })
}

// The live Enricher: detects the assets a text names, and answers with prices (CoinGecko, Binance, in configured
// order) and headlines (RSS/Atom feeds), both through a stale-while-revalidate, single-flight cache.
//   prime(partial)  detects assets in a partial transcript and starts fetching what is not cached (prices, and the
//                   feeds when news will be wanted), without waiting: fetches run in the cache's scope, bounded by
//                   their timeouts, the per-source rate limits and single-flight. Never fails, returns at once.
//   enrich(text)    the same detection, then prices and news concurrently through the cache, waiting for missing
//                   values at most until just before the turn's budget (STREAM_ENRICHMENT_BUDGET_MS less a margin,
//                   so the answer beats Reply's own timeout); whatever is not there is named in `missing`, stale
//                   values are served with their real as-of time and named too. Never fails; never invents a value:
//                   an unusable upstream answer is left out and named.
// Headlines are fetched when the text names an asset (filtered to it) or asks about news or the market in general.
import { Clock, Effect, type Scope } from "effect"
import type { HttpClient } from "effect/http"
import { RateLimiter } from "effect/persistence"
import type { EnrichmentSettings } from "../config/EnrichmentSettings.ts"
import { type EnrichmentContext, emptyContext, type PriceQuote } from "../domain/Enrichment.ts"
import { Enricher } from "../pipeline/Enricher.ts"
import type { Asset } from "./AssetCatalog.ts"
import { makeAssetDetector } from "./AssetDetector.ts"
import type { Lookup } from "./Cache.ts"
import { newsPart, pricesPart } from "./ContextAssembly.ts"
import type { FeedItem } from "./FeedParser.ts"
import { makeNewsCache } from "./NewsCache.ts"
import { asksForNews } from "./NewsIntent.ts"
import { makePriceCache } from "./PriceCache.ts"
import type { PriceMiss } from "./PriceChain.ts"
import type { SourceError } from "./SourceError.ts"
import { makeUpstream } from "./UpstreamHttp.ts"

/** Prices looked up per question; more assets named are reported in `missing`. */
export const MaxAssetsPerTurn = 5
/** Largest upstream body read (a big RSS feed is a few hundred kB). */
const MaxBodyBytes = 2_000_000

/** How long enrich waits for upstream: the budget less a margin (15 %, 10–50 ms) for building the answer. */
export const waitWithinBudget = (budgetMs: number): number =>
  Math.max(0, budgetMs - Math.min(50, Math.max(10, Math.round(budgetMs * 0.15))))

/** A defect's kind only: its message could quote the user's text, which is never logged. */
const defectName = (defect: unknown) => (defect instanceof Error ? defect.name : typeof defect)

interface Plan {
  readonly assets: ReadonlyArray<Asset>
  /** Assets named beyond MaxAssetsPerTurn. */
  readonly overflow: number
  readonly news: boolean
}

export const makeLiveEnricher = (
  settings: EnrichmentSettings
): Effect.Effect<Enricher["Service"], never, Scope.Scope | HttpClient.HttpClient | RateLimiter.RateLimiter> =>
  Effect.gen(function* () {
    const limiter = yield* RateLimiter.RateLimiter
    const upstream = yield* makeUpstream({
      userAgent: settings.userAgent,
      timeoutMs: settings.fetchTimeoutMs,
      maxBytes: MaxBodyBytes
    })
    const detector = makeAssetDetector(settings.assets)

    const prices = yield* makePriceCache(settings, upstream, limiter)
    const news = yield* makeNewsCache(settings, upstream, limiter)
    const hasFeeds = settings.newsFeeds.length > 0

    const plan = (text: string): Plan => {
      const found = detector.detect(text)
      const assets = found.slice(0, MaxAssetsPerTurn)
      return {
        assets,
        overflow: found.length - assets.length,
        news: hasFeeds && (assets.length > 0 || asksForNews(text))
      }
    }

    const prime = (partialText: string) =>
      Effect.gen(function* () {
        const { assets, news: wantsNews } = plan(partialText)
        if (assets.length > 0) yield* prices.warm(assets.map((a) => a.id))
        if (wantsNews) yield* news.warm(settings.newsFeeds)
      }).pipe(
        Effect.catchDefect((defect) => Effect.logWarning("enrichment prime failed", { defect: defectName(defect) }))
      )

    const enrich = (text: string) =>
      Effect.gen(function* () {
        const { assets, overflow, news: wantsNews } = plan(text)
        const waitMs = waitWithinBudget(settings.budgetMs)
        const [priceLookups, newsLookups] = yield* Effect.all(
          [
            assets.length > 0
              ? prices.get(
                  assets.map((a) => a.id),
                  waitMs
                )
              : Effect.succeed(new Map<string, Lookup<PriceQuote, PriceMiss>>()),
            wantsNews
              ? news.get(settings.newsFeeds, waitMs)
              : Effect.succeed(new Map<string, Lookup<ReadonlyArray<FeedItem>, SourceError>>())
          ],
          { concurrency: 2 }
        )
        const now = yield* Clock.currentTimeMillis
        const pricePart = pricesPart(assets, priceLookups, now, settings.priceMaxStaleMs)
        const headlinePart = wantsNews
          ? newsPart(settings.newsFeeds, newsLookups, { assets, detector, max: settings.newsMax })
          : { values: [], missing: [] }
        const context: EnrichmentContext = {
          prices: pricePart.values,
          headlines: headlinePart.values,
          missing: [
            ...pricePart.missing,
            ...(overflow > 0
              ? [`prices of ${overflow} more asset${overflow === 1 ? "" : "s"} (${MaxAssetsPerTurn} per question)`]
              : []),
            ...headlinePart.missing
          ]
        }
        return context
      }).pipe(
        Effect.catchDefect((defect) =>
          Effect.as(Effect.logError("enrichment failed", { defect: defectName(defect) }), {
            ...emptyContext,
            missing: ["market data (internal error)"]
          })
        )
      )

    return Enricher.of({ provider: "live", prime, enrich })
  })

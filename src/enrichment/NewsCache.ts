// The news behind the cache: one entry per feed of STREAM_NEWS_FEEDS (its parsed items), each feed fetched on its own
// (a slow feed never holds up another) through its own gate (rate limit per host, 429 backoff, circuit); cached for
// STREAM_NEWS_TTL_MS, served stale up to STREAM_NEWS_MAX_STALE_MS, a failure remembered for 30 s (at most the TTL).
import { Effect, type Scope } from "effect"
import type { RateLimiter } from "effect/persistence"
import type { EnrichmentSettings } from "../config/EnrichmentSettings.ts"
import { makeCache, type SwrCache } from "./Cache.ts"
import type { FeedItem } from "./FeedParser.ts"
import { feedName, makeRssNews } from "./RssNews.ts"
import { SourceError } from "./SourceError.ts"
import { makeSourceGate } from "./SourceGate.ts"
import type { Upstream } from "./UpstreamHttp.ts"

/** Keyed by feed URL. */
export type NewsCache = SwrCache<ReadonlyArray<FeedItem>, SourceError>

export const makeNewsCache = (
  settings: EnrichmentSettings,
  upstream: Upstream,
  limiter: RateLimiter.RateLimiter
): Effect.Effect<NewsCache, never, Scope.Scope> => {
  const feeds = new Map(
    settings.newsFeeds.map((url) => [
      url,
      makeRssNews(
        url,
        upstream,
        makeSourceGate({ source: feedName(url), ratePerMin: settings.newsRatePerMin }, limiter)
      )
    ])
  )
  return makeCache<ReadonlyArray<FeedItem>, SourceError>({
    name: "news",
    ttlMs: settings.newsTtlMs,
    maxStaleMs: settings.newsMaxStaleMs,
    failureTtlMs: Math.min(settings.newsTtlMs, 30_000),
    capacity: settings.cacheMax,
    timeoutMs: settings.fetchTimeoutMs + 500,
    maxBatch: 1,
    fetch: (urls) =>
      Effect.forEach(
        urls.flatMap((url) => feeds.get(url) ?? []),
        (feed) =>
          feed.items.pipe(
            Effect.tapError((error) =>
              Effect.logWarning("news feed failed", { feed: feed.name, reason: error.reason, detail: error.message })
            ),
            Effect.result,
            Effect.map((result) => [feed.url, result] as const)
          ),
        { concurrency: "unbounded" }
      ).pipe(Effect.map((entries) => new Map(entries))),
    lost: (url, why) =>
      new SourceError({ source: feedName(url), reason: why === "timeout" ? "timeout" : "unavailable", message: why })
  })
}

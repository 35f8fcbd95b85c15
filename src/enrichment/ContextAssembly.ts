// Turns cache lookups into the turn's EnrichmentContext: the prices and headlines that are there, and a plain-words
// entry in `missing` for everything asked that is not (or is stale), so the prompt can say so instead of guessing:
//   "BTC price (coingecko: rate-limited; binance: unavailable)"   every source failed
//   "ETH price (not ready in time)"                               still being fetched when the budget ran out
//   "live SOL price (latest quote is 3 min old)"                  served stale from the cache
//   "news (feeds unavailable)" · "recent headlines about Cardano (none in the news feeds)"
import { DateTime, Option } from "effect"
import type { Headline, PriceQuote } from "../domain/Enrichment.ts"
import type { Asset } from "./AssetCatalog.ts"
import type { AssetDetector } from "./AssetDetector.ts"
import type { Lookup } from "./Cache.ts"
import type { FeedItem } from "./FeedParser.ts"
import { selectHeadlines } from "./Headlines.ts"
import { describePriceMiss, type PriceMiss } from "./PriceChain.ts"
import type { SourceError } from "./SourceError.ts"

export interface Part<A> {
  readonly values: ReadonlyArray<A>
  readonly missing: ReadonlyArray<string>
}

/** "45 s", "3 min", "2 h" */
export const formatAge = (ms: number): string => {
  const seconds = Math.max(0, Math.round(ms / 1000))
  if (seconds < 120) return `${seconds} s`
  const minutes = Math.round(seconds / 60)
  return minutes < 120 ? `${minutes} min` : `${Math.round(minutes / 60)} h`
}

const quoteAgeMs = (quote: PriceQuote, now: number, fallback: number) =>
  Option.match(DateTime.make(quote.asOf), {
    onNone: () => now - fallback,
    onSome: (asOf) => now - DateTime.toEpochMillis(asOf)
  })

/**
 * The prices part. A quote served stale from the cache is named as such with its age; so is a freshly fetched quote
 * whose own as-of time is older than `oldAfterMs` (a halted market, a source that stopped updating).
 */
export const pricesPart = (
  assets: ReadonlyArray<Asset>,
  lookups: ReadonlyMap<string, Lookup<PriceQuote, PriceMiss>>,
  now: number,
  oldAfterMs: number
): Part<PriceQuote> => {
  const values: Array<PriceQuote> = []
  const missing: Array<string> = []
  for (const asset of assets) {
    const lookup = lookups.get(asset.id) ?? { _tag: "Pending" }
    switch (lookup._tag) {
      case "Fresh":
      case "Stale": {
        values.push(lookup.value)
        const age = quoteAgeMs(lookup.value, now, lookup.fetchedAt)
        if (lookup._tag === "Stale" || age > oldAfterMs) {
          missing.push(`live ${asset.symbol} price (latest quote is ${formatAge(age)} old)`)
        }
        break
      }
      case "Failed":
        missing.push(describePriceMiss(asset, lookup.error))
        break
      case "Pending":
        missing.push(`${asset.symbol} price (not ready in time)`)
        break
    }
  }
  return { values, missing }
}

export interface NewsRequest {
  readonly assets: ReadonlyArray<Asset>
  readonly detector: AssetDetector
  readonly max: number
}

export const newsPart = (
  feeds: ReadonlyArray<string>,
  lookups: ReadonlyMap<string, Lookup<ReadonlyArray<FeedItem>, SourceError>>,
  request: NewsRequest
): Part<Headline> => {
  const items: Array<FeedItem> = []
  let pending = 0
  let failed = 0
  for (const feed of feeds) {
    const lookup = lookups.get(feed) ?? { _tag: "Pending" }
    if (lookup._tag === "Fresh" || lookup._tag === "Stale") items.push(...lookup.value)
    else if (lookup._tag === "Pending") pending++
    else failed++
  }
  if (items.length === 0 && pending + failed > 0) {
    return { values: [], missing: [failed === 0 ? "news (not ready in time)" : "news (feeds unavailable)"] }
  }
  const values = selectHeadlines(items, request)
  if (values.length === 0 && request.assets.length > 0) {
    return {
      values,
      missing: [`recent headlines about ${request.assets.map((a) => a.name).join(", ")} (none in the news feeds)`]
    }
  }
  return { values, missing: [] }
}

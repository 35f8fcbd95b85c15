// The price-source port: quotes for a set of assets in the configured fiat, each with its source and as-of time.
// Adapters: CoinGeckoPrices.ts, BinancePrices.ts; PriceChain.ts tries them in STREAM_PRICE_SOURCES order.
import { DateTime, type Effect, type Result, Schema } from "effect"
import type { PriceQuote } from "../domain/Enrichment.ts"
import type { Asset } from "./AssetCatalog.ts"
import type { SourceError } from "./SourceError.ts"

export const PriceSourceNames = ["coingecko", "binance"] as const
export type PriceSourceName = (typeof PriceSourceNames)[number]

/** One answer per asset asked: its quote, or why this source has none for it. */
export type AssetQuotes = ReadonlyMap<string, Result.Result<PriceQuote, SourceError>>

export interface PriceSource {
  readonly name: PriceSourceName
  /**
   * Quotes for `assets` (keyed by asset id). Fails as a whole when the source is skipped (rate limit, backoff,
   * circuit) or its answer is unusable; an asset it does not list or quoted absurdly is a failure for that asset only.
   */
  readonly quotes: (assets: ReadonlyArray<Asset>) => Effect.Effect<AssetQuotes, SourceError>
}

/** A price: finite and above zero. */
export const Price = Schema.Finite.check(Schema.isGreaterThan(0))

/** A plain decimal string ("97000.12000000", "-1.25"), as Binance sends numbers; "", "1e3", "0x10" are refused. */
export const DecimalString = Schema.String.check(Schema.isPattern(/^-?\d+(\.\d+)?$/)).pipe(
  Schema.decodeTo(Schema.FiniteFromString)
)

/**
 * The as-of time of a quote, as ISO-8601: the time the payload gives (clamped to now, in case the source's clock is
 * ahead), or the fetch time when it gives none.
 */
export const asOfIso = (payloadMs: number | undefined, fetchedAtMs: number): string =>
  DateTime.formatIso(
    DateTime.makeUnsafe(payloadMs === undefined || payloadMs <= 0 ? fetchedAtMs : Math.min(payloadMs, fetchedAtMs))
  )

// Live context added to a turn: prices and headlines, each with its source and as-of time.
import { Schema } from "effect"

export const PriceQuote = Schema.Struct({
  asset: Schema.String,
  symbol: Schema.String,
  price: Schema.Finite,
  fiat: Schema.String,
  change24hPct: Schema.NullOr(Schema.Finite),
  source: Schema.String,
  /** ISO-8601 time the source quoted the price. */
  asOf: Schema.String
})
export type PriceQuote = typeof PriceQuote.Type

export const Headline = Schema.Struct({
  title: Schema.String,
  url: Schema.String,
  source: Schema.String,
  publishedAt: Schema.String
})
export type Headline = typeof Headline.Type

export const EnrichmentContext = Schema.Struct({
  prices: Schema.Array(PriceQuote),
  headlines: Schema.Array(Headline),
  /** What was asked for but could not be had within the budget (e.g. "news"). */
  missing: Schema.Array(Schema.String)
})
export type EnrichmentContext = typeof EnrichmentContext.Type

export const emptyContext: EnrichmentContext = { prices: [], headlines: [], missing: [] }

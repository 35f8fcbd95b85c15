// Why an upstream source (a price API, a news feed) gave nothing usable, in words the prompt can carry: the enricher
// names these in `context.missing`. Never contains user text.
import { Schema } from "effect"

export const SourceFailureReason = Schema.Literals([
  /** No answer within STREAM_ENRICHMENT_FETCH_TIMEOUT_MS. */
  "timeout",
  /** Connection refused or reset, a 5xx, or a status the source does not use for success. */
  "unavailable",
  /** The source answered 429 (or Binance's 418 ban). */
  "rate_limited",
  /** Skipped: still waiting out a 429's Retry-After or backoff. */
  "backing_off",
  /** Skipped: our own per-source request budget (STREAM_PRICE_RATE_PER_MIN…) is used up for now. */
  "throttled",
  /** Skipped: the source failed several times in a row and is cooling down. */
  "circuit_open",
  /** The payload was not what the schema expects (bad JSON, broken XML, missing or absurd fields). */
  "malformed",
  /** The source does not list this asset. */
  "not_listed",
  /** The source cannot quote in the configured fiat. */
  "unsupported"
])
export type SourceFailureReason = typeof SourceFailureReason.Type

export class SourceError extends Schema.TaggedError<SourceError>()("SourceError", {
  /** "coingecko", "binance", or a feed's host name. */
  source: Schema.String,
  reason: SourceFailureReason,
  /** For logs: what happened, without user text. */
  message: Schema.String,
  status: Schema.optionalKey(Schema.Int),
  retryAfterMs: Schema.optionalKey(Schema.Int)
}) {}

const Phrases: Readonly<Record<SourceFailureReason, string>> = {
  timeout: "timed out",
  unavailable: "unavailable",
  rate_limited: "rate-limited",
  backing_off: "backing off after a rate limit",
  throttled: "request budget used up",
  circuit_open: "failing, paused",
  malformed: "sent unusable data",
  not_listed: "does not list it",
  unsupported: "fiat not supported"
}

/** "coingecko: rate-limited" */
export const describeSourceError = (error: SourceError): string => `${error.source}: ${Phrases[error.reason]}`

/** True for failures of the source as a whole (as opposed to one asset it does not have). */
export const isSourceFault = (reason: SourceFailureReason): boolean =>
  reason === "timeout" || reason === "unavailable" || reason === "malformed"

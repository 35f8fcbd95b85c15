// The fields every port error shares: what went wrong, whether retrying may help, and a server-safe message.
import { Schema } from "effect"

export const PortFailureReason = Schema.Literals([
  "timeout",
  "unavailable",
  "rate_limited",
  "bad_request",
  "unauthorized",
  "protocol",
  "unknown"
])
export type PortFailureReason = typeof PortFailureReason.Type

/** Spread into each port's Schema.TaggedError so every port error reads the same way. */
export const portErrorFields = {
  reason: PortFailureReason,
  retryable: Schema.Boolean,
  /** Never contains user text or prompts: it may be logged and sent to the client. */
  message: Schema.String,
  /** The provider asked to wait this long before retrying (retry-after). */
  retryAfterMs: Schema.optionalKey(Schema.Int)
}

/** What the resilience policy needs to know about any port error. */
export interface PortFailure {
  readonly reason: PortFailureReason
  readonly retryable: boolean
  readonly message: string
  readonly retryAfterMs?: number
}

/** Builds a port error of the given reason; each port supplies its own class. */
export type PortErrorFactory<E> = (fields: PortFailure) => E

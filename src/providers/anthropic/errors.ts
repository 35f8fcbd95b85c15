// The one classification of Anthropic SDK errors into port failures, following PROVIDERS.md: connection errors and
// timeouts retryable; 408/409/429/5xx and 529 (overloaded) retryable; 401/403 unauthorized; other 4xx bad_request;
// an `event: error` mid-stream by its error type (overloaded_error retryable); malformed streams protocol.
// `nowMs` comes from Effect's Clock (retry-after may be an HTTP date).
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "@anthropic-ai/sdk"
import { Clock, Effect } from "effect"
import type { PortErrorFactory, PortFailure } from "../../pipeline/PortError.ts"
import {
  connectionFailure,
  httpFailure,
  isConnectionBreak,
  ProviderFailure,
  portFailure,
  protocolFailure,
  safeType
} from "../httpErrors.ts"

const provider = "anthropic"

/** The error types of Anthropic's error body (`{"type":"error","error":{"type":…}}`), sent mid-stream too. */
const byErrorType = (type: string | null | undefined): Omit<PortFailure, "message"> => {
  switch (type) {
    case "authentication_error":
    case "permission_error":
      return { reason: "unauthorized", retryable: false }
    case "invalid_request_error":
    case "not_found_error":
    case "request_too_large":
      return { reason: "bad_request", retryable: false }
    case "rate_limit_error":
      return { reason: "rate_limited", retryable: true }
    case "timeout_error":
      return { reason: "timeout", retryable: true }
    default:
      // overloaded_error, api_error and anything new: the provider failed while answering.
      return { reason: "unavailable", retryable: true }
  }
}

export const classifyAnthropicError = (error: unknown, nowMs: number): PortFailure => {
  if (error instanceof ProviderFailure) return portFailure(error)
  if (error instanceof APIConnectionTimeoutError) {
    return { reason: "timeout", retryable: true, message: `${provider}: no response within the request timeout` }
  }
  if (error instanceof APIUserAbortError) return portFailure(connectionFailure(provider, "request aborted"))
  if (error instanceof APIConnectionError) return portFailure(connectionFailure(provider, "connection failed"))
  if (error instanceof APIError) {
    if (typeof error.status === "number") return httpFailure(provider, error.status, error.headers, nowMs, error.type)
    return { ...byErrorType(error.type), message: `${provider} stream error${safeType(error.type)}` }
  }
  if (error instanceof SyntaxError) return portFailure(protocolFailure(provider, "malformed response"))
  if (isConnectionBreak(error)) return portFailure(connectionFailure(provider, "connection lost mid-response"))
  return { reason: "unknown", retryable: false, message: `${provider}: unexpected client error` }
}

/** Turns any error of an Anthropic call into the port's error, reading the time from Effect's Clock. */
export const toPortError = <E>(makeError: PortErrorFactory<E>) =>
  Effect.fnUntraced(function* (error: unknown) {
    const now = yield* Clock.currentTimeMillis
    return yield* Effect.fail(makeError(classifyAnthropicError(error, now)))
  })

// The one classification of OpenAI SDK errors into port failures (reason, retryable, retry-after), following
// PROVIDERS.md: connection errors and timeouts retryable; 408/409/429/5xx retryable; 401/403 unauthorized; other 4xx
// bad_request; malformed streams protocol. `nowMs` comes from Effect's Clock (retry-after may be an HTTP date).
import { Clock, Effect } from "effect"
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "openai"
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

const provider = "openai"

/** An error object sent inside a stream (`data: {"error": …}` or `event: error`): classified by its type/code. */
const streamedError = (type: string | undefined, code: string | null | undefined): PortFailure => {
  const id = `${type ?? ""} ${code ?? ""}`
  const shown = safeType(code ?? type)
  if (/rate_limit/.test(id))
    return { reason: "rate_limited", retryable: true, message: `${provider} stream error${shown}` }
  if (/invalid_request|invalid_api_key|not_found/.test(id)) {
    const reason = /invalid_api_key/.test(id) ? "unauthorized" : "bad_request"
    return { reason, retryable: false, message: `${provider} stream error${shown}` }
  }
  return { reason: "unavailable", retryable: true, message: `${provider} stream error${shown}` }
}

export const classifyOpenAiError = (error: unknown, nowMs: number): PortFailure => {
  if (error instanceof ProviderFailure) return portFailure(error)
  if (error instanceof APIConnectionTimeoutError) {
    return { reason: "timeout", retryable: true, message: `${provider}: no response within the request timeout` }
  }
  if (error instanceof APIUserAbortError) return portFailure(connectionFailure(provider, "request aborted"))
  if (error instanceof APIConnectionError) return portFailure(connectionFailure(provider, "connection failed"))
  if (error instanceof APIError) {
    if (typeof error.status === "number") {
      return httpFailure(provider, error.status, error.headers, nowMs, error.code ?? error.type)
    }
    return streamedError(error.type, error.code)
  }
  if (error instanceof SyntaxError) return portFailure(protocolFailure(provider, "malformed response"))
  if (isConnectionBreak(error)) return portFailure(connectionFailure(provider, "connection lost mid-response"))
  return { reason: "unknown", retryable: false, message: `${provider}: unexpected client error` }
}

/** Turns any error of an OpenAI call into the port's error, reading the time from Effect's Clock. */
export const toPortError = <E>(makeError: PortErrorFactory<E>) =>
  Effect.fnUntraced(function* (error: unknown) {
    const now = yield* Clock.currentTimeMillis
    return yield* Effect.fail(makeError(classifyOpenAiError(error, now)))
  })

// The HTTP failure rules every provider adapter shares: which status means what (reason, retryable), and how long
// the provider asked us to wait (retry-after-ms / retry-after, in seconds or as an HTTP date, against a given clock
// time so callers pass Effect's Clock). Messages built here name only statuses and error types, never provider text.
import { Data } from "effect"
import type { PortFailure, PortFailureReason } from "../pipeline/PortError.ts"

/** A failure an adapter detected itself (bad shape, missing end…), already classified; raw SDK errors are not. */
export class ProviderFailure extends Data.TaggedError("ProviderFailure")<PortFailure> {}

/** The reason and retryability of an HTTP status from a provider. */
export const classifyStatus = (status: number): { readonly reason: PortFailureReason; readonly retryable: boolean } => {
  if (status === 401 || status === 403) return { reason: "unauthorized", retryable: false }
  if (status === 408) return { reason: "timeout", retryable: true }
  if (status === 429) return { reason: "rate_limited", retryable: true }
  if (status === 409 || status >= 500) return { reason: "unavailable", retryable: true }
  if (status >= 400) return { reason: "bad_request", retryable: false }
  return { reason: "protocol", retryable: false }
}

/** Reads a header from a fetch `Headers` or a plain record, case-insensitively. */
const header = (headers: unknown, name: string): string | undefined => {
  if (headers instanceof Headers) return headers.get(name) ?? undefined
  if (typeof headers === "object" && headers !== null) {
    for (const [key, value] of Object.entries(headers)) {
      if (key.toLowerCase() === name && typeof value === "string") return value
    }
  }
  return undefined
}

/** Milliseconds the provider asked to wait, from `retry-after-ms` or `retry-after` (seconds or an HTTP date). */
export const retryAfterMs = (headers: unknown, nowMs: number): number | undefined => {
  const ms = header(headers, "retry-after-ms")
  if (ms !== undefined && ms.trim() !== "") {
    const value = Number(ms)
    if (Number.isFinite(value) && value >= 0) return Math.ceil(value)
  }
  const after = header(headers, "retry-after")?.trim()
  if (after === undefined || after === "") return undefined
  const seconds = Number(after)
  if (Number.isFinite(seconds)) return seconds >= 0 ? Math.ceil(seconds * 1000) : undefined
  const at = Date.parse(after)
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs)
}

/** A port failure for an HTTP error status, with the provider's retry-after when it gave one. */
export const httpFailure = (
  provider: string,
  status: number,
  headers: unknown,
  nowMs: number,
  errorType?: string | null
): PortFailure => {
  const { reason, retryable } = classifyStatus(status)
  const wait = retryAfterMs(headers, nowMs)
  return {
    reason,
    retryable,
    message: `${provider} answered HTTP ${status}${safeType(errorType)}`,
    ...(wait === undefined ? {} : { retryAfterMs: wait })
  }
}

/** A provider error type or code is shown only when it looks like an identifier (never free text). */
export const safeType = (type: string | null | undefined): string =>
  typeof type === "string" && /^[a-z0-9_.-]{1,64}$/i.test(type) ? ` (${type})` : ""

/** A connection that failed or was cut before the reply was complete. */
export const connectionFailure = (provider: string, what: string): ProviderFailure =>
  new ProviderFailure({ reason: "unavailable", retryable: true, message: `${provider}: ${what}` })

/** A reply that does not follow the provider's protocol (bad JSON, unexpected shape, missing end). */
export const protocolFailure = (provider: string, what: string): ProviderFailure =>
  new ProviderFailure({ reason: "protocol", retryable: false, message: `${provider}: ${what}` })

/** Only the fields of a port failure, whatever object carries them. */
export const portFailure = (failure: PortFailure): PortFailure => ({
  reason: failure.reason,
  retryable: failure.retryable,
  message: failure.message,
  ...(failure.retryAfterMs === undefined ? {} : { retryAfterMs: failure.retryAfterMs })
})

/** Errors thrown by fetch/undici when the connection breaks while the body is being read. */
export const isConnectionBreak = (error: unknown): boolean => {
  if (!(error instanceof Error)) return false
  if (error.name === "TypeError" && /terminated|fetch failed|network/i.test(error.message)) return true
  const code = (error as { code?: unknown }).code ?? (error.cause as { code?: unknown } | undefined)?.code
  return typeof code === "string" && /^(ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|UND_ERR_)/.test(code)
}

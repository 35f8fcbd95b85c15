// Classifies Deepgram failures into the ports' error fields: HTTP statuses (REST replies and rejected WebSocket
// handshakes, by the rules all adapters share in ../httpErrors.ts), timeouts, and connections that could not be made
// or broke. Messages name the service and the status, never user text nor Deepgram's error body.
import { DeepgramError, DeepgramTimeoutError } from "@deepgram/sdk"
import type { PortFailure } from "../../pipeline/PortError.ts"
import { retryAfterMs, classifyStatus as statusRule } from "../httpErrors.ts"

/** What failed, for messages. */
export type DeepgramService = "speech recognition" | "speech synthesis"

/** 401/403 unauthorized; 408, 409, 429 and 5xx retryable (with the retry-after when given); other 4xx bad_request. */
export const classifyStatus = (service: DeepgramService, status: number, retryAfter?: number): PortFailure => ({
  ...statusRule(status),
  message: `Deepgram ${service} answered HTTP ${status}`,
  ...(retryAfter === undefined ? {} : { retryAfterMs: retryAfter })
})

export const timedOut = (service: DeepgramService): PortFailure => ({
  reason: "timeout",
  retryable: true,
  message: `Deepgram ${service} timed out`
})

export const unreachable = (service: DeepgramService, what = "could not be reached"): PortFailure => ({
  reason: "unavailable",
  retryable: true,
  message: `Deepgram ${service} ${what}`
})

/**
 * An error thrown by a REST call of the SDK. An HTTP status is classified with its retry-after; a timeout comes as
 * DeepgramTimeoutError or, from the fetch's own abort timer, as a plain DeepgramError with the message "timeout" and
 * no status; anything else (refused, reset) means Deepgram could not be reached.
 */
export const classifyRestError = (service: DeepgramService, error: unknown, nowMs: number): PortFailure => {
  if (error instanceof DeepgramTimeoutError) return timedOut(service)
  if (error instanceof DeepgramError) {
    if (error.statusCode !== undefined && error.statusCode > 0) {
      return classifyStatus(service, error.statusCode, retryAfterMs(error.rawResponse?.headers, nowMs))
    }
    if (/timeout/i.test(error.message)) return timedOut(service)
  }
  if (error instanceof Error && (error.name === "AbortError" || error.name === "TimeoutError")) return timedOut(service)
  return unreachable(service)
}

/**
 * The error event of the SDK's WebSocket, whose message is all it keeps: "Unexpected server response: 429" for a
 * rejected handshake (the response headers are gone, so there is no retry-after), "TIMEOUT" for its connect timer,
 * a socket error (refused, reset) otherwise.
 */
export const classifySocketError = (service: DeepgramService, message: string): PortFailure => {
  const status = /Unexpected server response: (\d{3})/.exec(message)
  if (status !== null) return classifyStatus(service, Number(status[1]))
  if (/^TIMEOUT$/i.test(message.trim())) return timedOut(service)
  return unreachable(service)
}

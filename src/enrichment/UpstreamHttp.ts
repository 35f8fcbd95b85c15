// One polite GET to a public upstream: the project's User-Agent, a bounded time (timeout) and size (body cap), and the
// status read into a SourceError the sources understand: 429/418 → rate_limited with the Retry-After delay, 408 and
// 5xx → unavailable. Other statuses come back with their body for the source to judge (Binance's 400 "Invalid
// symbol" is an answer, not an outage).
import { Clock, Duration, Effect, Result, Stream } from "effect"
import { Headers, HttpClient, type HttpClientResponse } from "effect/http"
import { SourceError } from "./SourceError.ts"

export interface UpstreamSettings {
  readonly userAgent: string
  readonly timeoutMs: number
  /** Larger bodies are refused as malformed. */
  readonly maxBytes: number
}

export interface UpstreamResponse {
  readonly status: number
  readonly body: string
}

export interface Upstream {
  readonly get: (source: string, url: string, accept: string) => Effect.Effect<UpstreamResponse, SourceError>
}

/** The wait a Retry-After header asks for, in ms (seconds or an HTTP date), if it is readable. */
export const retryAfterMs = (header: string | undefined, now: number): number | undefined => {
  if (header === undefined) return undefined
  const parsed = Headers.parseRetryAfter(header)
  return Result.isSuccess(parsed) ? Duration.toMillis(Headers.retryAfterDelay(parsed.success, now)) : undefined
}

const readBounded = (response: HttpClientResponse.HttpClientResponse, source: string, maxBytes: number) =>
  Effect.gen(function* () {
    const parts: Array<Uint8Array> = []
    let size = 0
    yield* Stream.runForEach(response.stream, (chunk) => {
      size += chunk.byteLength
      if (size > maxBytes) {
        return Effect.fail(
          new SourceError({ source, reason: "malformed", message: `body larger than ${maxBytes} bytes` })
        )
      }
      parts.push(chunk)
      return Effect.void
    })
    return Buffer.concat(parts).toString("utf8")
  })

export const makeUpstream = (settings: UpstreamSettings): Effect.Effect<Upstream, never, HttpClient.HttpClient> =>
  Effect.map(Effect.service(HttpClient.HttpClient), (client) => ({
    get: (source, url, accept) =>
      Effect.gen(function* () {
        const response = yield* client.get(url, { headers: { "user-agent": settings.userAgent, accept } })
        const body = yield* readBounded(response, source, settings.maxBytes)
        const status = response.status
        if (status === 429 || status === 418) {
          const wait = retryAfterMs(response.headers["retry-after"], yield* Clock.currentTimeMillis)
          return yield* new SourceError({
            source,
            reason: "rate_limited",
            message: `HTTP ${status}`,
            status,
            ...(wait === undefined ? {} : { retryAfterMs: Math.ceil(wait) })
          })
        }
        if (status === 408 || status >= 500) {
          return yield* new SourceError({ source, reason: "unavailable", message: `HTTP ${status}`, status })
        }
        return { status, body }
      }).pipe(
        Effect.catchTag("HttpClientError", (error) =>
          Effect.fail(
            new SourceError({ source, reason: "unavailable", message: `request failed: ${error.reason._tag}` })
          )
        ),
        Effect.timeoutOrElse({
          duration: Duration.millis(settings.timeoutMs),
          orElse: () =>
            Effect.fail(
              new SourceError({ source, reason: "timeout", message: `no answer within ${settings.timeoutMs} ms` })
            )
        })
      )
  }))

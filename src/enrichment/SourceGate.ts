// Politeness toward one upstream source, so a busy server never gets itself banned by a free public API: a request
// budget per minute (Effect's RateLimiter, token bucket: past it the source is skipped, never waited for), backoff
// after a 429 (the Retry-After it sends, capped; else exponential from 30 s with jitter) during which the source is
// skipped, and a circuit breaker that pauses a source failing several times in a row. A skipped source costs
// nothing: the caller moves to the next source or serves what the cache has.
import { Clock, Duration, Effect, Exit } from "effect"
import type { RateLimiter } from "effect/persistence"
import { makeCircuitBreaker } from "../pipeline/CircuitBreaker.ts"
import { backoffDelay } from "../pipeline/Resilience.ts"
import { isSourceFault, SourceError } from "./SourceError.ts"

export interface SourceGateSettings {
  readonly source: string
  /** Requests allowed per minute (a bucket of this many, refilled evenly over the minute). */
  readonly ratePerMin: number
}

/** Backoff after a 429 without Retry-After: 30 s, doubling per 429 in a row, ±20 %, at most 10 min. */
export const RateLimitBackoff = { retryBaseDelayMs: 30_000, retryMaxDelayMs: 600_000 }
/** A Retry-After longer than this is not believed beyond it. */
export const MaxRetryAfterMs = 3_600_000
/** Three source faults in a row (timeouts, outages, bad data) pause the source for 30 s. */
export const SourceCircuit = { failureThreshold: 3, cooldownMs: 30_000 }

export interface SourceGate {
  readonly source: string
  /** Runs `call` if the source may be asked now; otherwise fails at once with the reason it is skipped. */
  readonly run: <A>(call: Effect.Effect<A, SourceError>) => Effect.Effect<A, SourceError>
  /** Milliseconds of 429 backoff left (0 when none). */
  readonly backoffRemainingMs: Effect.Effect<number>
}

export const makeSourceGate = (settings: SourceGateSettings, limiter: RateLimiter.RateLimiter): SourceGate => {
  const { source } = settings
  const breaker = makeCircuitBreaker(SourceCircuit)
  let backoffUntil = 0
  let rateLimitedInARow = 0

  const skipped = (reason: "backing_off" | "throttled" | "circuit_open", message: string, retryAfterMs?: number) =>
    new SourceError({
      source,
      reason,
      message,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs: Math.max(0, Math.ceil(retryAfterMs)) })
    })

  const onRateLimited = (error: SourceError) =>
    Effect.gen(function* () {
      rateLimitedInARow++
      const delayMs =
        error.retryAfterMs !== undefined
          ? Math.min(error.retryAfterMs, MaxRetryAfterMs)
          : Math.round(Duration.toMillis(yield* backoffDelay(RateLimitBackoff, rateLimitedInARow)))
      backoffUntil = Math.max(backoffUntil, (yield* Clock.currentTimeMillis) + delayMs)
      yield* Effect.logWarning("enrichment source rate-limited; skipping it while backing off", {
        source,
        status: error.status,
        retryAfterMs: error.retryAfterMs,
        backoffMs: delayMs
      })
    })

  const afterCall = <A>(exit: Exit.Exit<A, SourceError>) => {
    if (Exit.isSuccess(exit)) {
      rateLimitedInARow = 0
      return breaker.onSuccess
    }
    const error = Exit.findErrorOption(exit)
    if (error._tag === "None") return breaker.onFailure // interrupted or crashed: the trial did not succeed
    if (error.value.reason === "rate_limited") return Effect.andThen(breaker.onSuccess, onRateLimited(error.value))
    return isSourceFault(error.value.reason) ? breaker.onFailure : breaker.onSuccess
  }

  const backoffRemainingMs = Effect.map(Clock.currentTimeMillis, (now) => Math.max(0, backoffUntil - now))

  const run = <A>(call: Effect.Effect<A, SourceError>): Effect.Effect<A, SourceError> =>
    Effect.gen(function* () {
      const wait = yield* backoffRemainingMs
      if (wait > 0) return yield* skipped("backing_off", `backing off for ${wait} ms after a 429`, wait)
      const allowed = yield* limiter
        .consume({
          key: `voice-stream/enrichment/${source}`,
          algorithm: "token-bucket",
          onExceeded: "fail",
          window: "1 minute",
          limit: settings.ratePerMin
        })
        .pipe(
          Effect.as(true),
          Effect.catch(() => Effect.succeed(false))
        )
      if (!allowed) return yield* skipped("throttled", `more than ${settings.ratePerMin} requests a minute`)
      if (yield* breaker.isOpen) return yield* skipped("circuit_open", "paused after repeated failures")
      return yield* Effect.onExit(call, afterCall)
    })

  return { source, run, backoffRemainingMs }
}

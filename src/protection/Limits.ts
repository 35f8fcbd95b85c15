// Shared rate limits (connection attempts per user and per IP, turns per user) over Effect's RateLimiter. The store
// is Redis (ProtectionLive), or, for one instance, in-memory windows (MemoryWindows.ts). A store failure or timeout
// fails OPEN: the request is counted on local in-memory windows instead, the failure is counted
// (voice_stream_protection_store_failures_total) and logged.
import { Clock, Context, Duration, Effect, Layer } from "effect"
import { RateLimiter } from "effect/persistence"
import type { RateLimit } from "../config/ProtectionSettings.ts"
import { MemoryWindows } from "./MemoryWindows.ts"
import { countRateLimited, countStoreFailure, type LimitName } from "./ProtectionMetrics.ts"

export type Verdict = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterMs: number }

export const Allowed: Verdict = { allowed: true }

export class Limits extends Context.Reference<{
  /** Counts one event against `limit` for `key`; never fails. */
  readonly check: (name: LimitName, key: string, limit: RateLimit) => Effect.Effect<Verdict>
}>("voice-stream/protection/Limits", {
  // Without the protection layer (unit tests of other parts) nothing is limited.
  defaultValue: () => ({ check: () => Effect.succeed(Allowed) })
}) {}

/** One consume, as a Verdict: refused with its retry-after, or failed (store trouble). */
export const consumeOnce = (limiter: RateLimiter.RateLimiter, name: LimitName, key: string, limit: RateLimit) =>
  limiter.consume({ key: `${name}:${key}`, limit: limit.max, window: limit.windowMs, algorithm: "fixed-window" }).pipe(
    Effect.as(Allowed),
    Effect.catchReason("RateLimiterError", "RateLimitExceeded", (exceeded) =>
      Effect.succeed<Verdict>({
        allowed: false,
        retryAfterMs: Math.max(1, Math.ceil(Duration.toMillis(exceeded.retryAfter)))
      })
    )
  )

/** One count on in-memory windows, as a Verdict (never fails). */
export const takeLocal = (local: MemoryWindows, name: LimitName, key: string, limit: RateLimit) =>
  Clock.clockWith((clock) =>
    Effect.sync((): Verdict => {
      const waitMs = local.take(`${name}:${key}`, limit, clock.currentTimeMillisUnsafe())
      return waitMs === 0 ? Allowed : { allowed: false, retryAfterMs: Math.max(1, Math.ceil(waitMs)) }
    })
  )

/**
 * Limits over `shared` (the configured store), falling back to `local` when the shared store fails or takes longer
 * than `timeoutMs`.
 */
export const makeLimits = (shared: RateLimiter.RateLimiter, local: MemoryWindows, timeoutMs: number) => {
  let degraded = false
  const check = (name: LimitName, key: string, limit: RateLimit): Effect.Effect<Verdict> =>
    consumeOnce(shared, name, key, limit).pipe(
      Effect.timeoutOrElse({ duration: timeoutMs, orElse: () => Effect.fail("timeout" as const) }),
      Effect.tap(() =>
        Effect.suspend(() => {
          if (!degraded) return Effect.void
          degraded = false
          return Effect.logWarning("rate limit store is back; limits are shared again")
        })
      ),
      Effect.catch(() =>
        Effect.gen(function* () {
          yield* countStoreFailure("rate_limit")
          if (!degraded) {
            degraded = true
            yield* Effect.logWarning("rate limit store failed; failing open to per-instance limits")
          }
          return yield* takeLocal(local, name, key, limit)
        })
      ),
      Effect.tap((verdict) => (verdict.allowed ? Effect.void : countRateLimited(name)))
    )
  return { check }
}

/** Limits of one instance, in memory: nothing to wait for or fall back from, so no timeout around each check. */
export const localLimitsLayer = Layer.sync(Limits, () => {
  const local = new MemoryWindows()
  const check = (name: LimitName, key: string, limit: RateLimit): Effect.Effect<Verdict> =>
    takeLocal(local, name, key, limit).pipe(
      Effect.tap((verdict) => (verdict.allowed ? Effect.void : countRateLimited(name)))
    )
  return { check }
})

/** Limits over the RateLimiter in context, with a fresh in-memory limiter as the fail-open fallback. */
export const limitsLayer = (timeoutMs: number) =>
  Layer.effect(
    Limits,
    Effect.gen(function* () {
      const shared = yield* RateLimiter.RateLimiter
      return makeLimits(shared, new MemoryWindows(), timeoutMs)
    })
  )

// Per-user session leases in Redis: one sorted set per user, a member per live session scored by its expiry.
// Admission is one Lua script (drop expired, count, add), so simultaneous connects on several instances can never
// over-admit. A heartbeat extends the lease while the session lives; a crashed instance's leases expire after
// STREAM_SESSION_LEASE_TTL_MS. Time is the instances' Clock (keep their clocks in sync, e.g. NTP).
import { Clock, Effect, Layer, Schedule } from "effect"
import { Redis } from "effect/persistence"
import { countStoreFailure } from "./ProtectionMetrics.ts"
import { type LeaseOutcome, SessionLeases } from "./SessionLeases.ts"

const acquireScript = Redis.script(
  (key: string, now: number, expiresAt: number, sessionId: string, cap: number, ttlMs: number) => [
    key,
    now,
    expiresAt,
    sessionId,
    cap,
    ttlMs
  ],
  {
    numberOfKeys: 1,
    lua: `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZSCORE', KEYS[1], ARGV[3]) == false and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1`
  }
).withReturnType<number>()

/** Extends a live session's lease (adding it back if it was lost, e.g. after a Redis restart). */
const heartbeatScript = Redis.script(
  (key: string, expiresAt: number, sessionId: string, ttlMs: number) => [key, expiresAt, sessionId, ttlMs],
  {
    numberOfKeys: 1,
    lua: `
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`
  }
).withReturnType<number>()

export interface LeaseOptions {
  readonly prefix: string
  readonly ttlMs: number
  readonly timeoutMs: number
}

export const redisLeasesLayer = (options: LeaseOptions) =>
  Layer.effect(
    SessionLeases,
    Effect.gen(function* () {
      const redis = yield* Redis.Redis
      const acquireLease = redis.eval(acquireScript)
      const extendLease = redis.eval(heartbeatScript)
      const keyOf = (userId: string) => `${options.prefix}leases:user:${userId}`
      const bounded = <A, E>(effect: Effect.Effect<A, E>) =>
        effect.pipe(
          Effect.timeoutOrElse({ duration: options.timeoutMs, orElse: () => Effect.fail("timeout" as const) })
        )

      const heartbeat = (key: string, sessionId: string) =>
        Clock.currentTimeMillis.pipe(
          Effect.flatMap((now) => bounded(extendLease(key, now + options.ttlMs, sessionId, options.ttlMs))),
          Effect.catch(() => countStoreFailure("lease_heartbeat")),
          Effect.repeat(Schedule.spaced(Math.max(100, Math.floor(options.ttlMs / 3))))
        )

      const release = (key: string, sessionId: string) =>
        bounded(redis.send("ZREM", key, sessionId)).pipe(Effect.catch(() => countStoreFailure("lease_release")))

      return SessionLeases.of({
        acquire: (userId, sessionId, cap) =>
          Effect.gen(function* () {
            const key = keyOf(userId)
            const now = yield* Clock.currentTimeMillis
            const result = yield* bounded(
              acquireLease(key, now, now + options.ttlMs, sessionId, cap, options.ttlMs)
            ).pipe(Effect.result)
            if (result._tag === "Failure") {
              yield* countStoreFailure("lease_acquire")
              yield* Effect.logWarning("session lease store failed; admitting on the local per-user cap")
              return "unavailable" satisfies LeaseOutcome
            }
            if (Number(result.success) !== 1) return "full" satisfies LeaseOutcome
            yield* Effect.addFinalizer(() => release(key, sessionId))
            yield* Effect.forkScoped(heartbeat(key, sessionId))
            return "acquired" satisfies LeaseOutcome
          })
      })
    })
  )

// Protection services chosen by configuration: in-memory limits per instance, or, with REDIS_URL, limits and
// per-user session leases shared by every instance through Redis.
import { Effect, Layer } from "effect"
import { RateLimiter } from "effect/persistence"
import { AppConfig } from "../config/AppConfig.ts"
import { limitsLayer, localLimitsLayer } from "./Limits.ts"
import { registerProtectionSeries } from "./ProtectionMetrics.ts"
import { redisLayer } from "./RedisClient.ts"
import { redisLeasesLayer } from "./RedisLeases.ts"

const RegisteredSeries = Layer.effectDiscard(registerProtectionSeries)

export const ProtectionLive = Layer.unwrap(
  Effect.gen(function* () {
    const { protection } = yield* AppConfig
    const timeout = protection.redisTimeoutMs
    if (protection.redisUrl === undefined) {
      return Layer.mergeAll(localLimitsLayer, RegisteredSeries)
    }
    const store = RateLimiter.layerStoreRedis({ prefix: `${protection.redisPrefix}ratelimit:` })
    return Layer.mergeAll(
      limitsLayer(timeout).pipe(Layer.provide(RateLimiter.layer), Layer.provide(store)),
      redisLeasesLayer({ prefix: protection.redisPrefix, ttlMs: protection.leaseTtlMs, timeoutMs: timeout }),
      RegisteredSeries,
      Layer.effectDiscard(Effect.logInfo("limits and per-user session caps are shared through Redis"))
    ).pipe(Layer.provide(redisLayer(protection.redisUrl, timeout)))
  })
)

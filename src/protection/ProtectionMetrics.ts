// Metrics of protection: refusals by the rate limiters, Redis failures met (and failed open), session caps
// enforced across instances, sessions cut for being idle or not reading. Series are registered at 0 at start.
import { type Context, Effect, Metric } from "effect"
import { protectionStoreFailures, rateLimited } from "../observability/Metrics.ts"

export const LimitNames = ["connect_user", "connect_ip", "turn", "message", "audio"] as const
export type LimitName = (typeof LimitNames)[number]
export const StoreOperations = ["rate_limit", "lease_acquire", "lease_heartbeat", "lease_release"] as const
export type StoreOperation = (typeof StoreOperations)[number]

const limited = (limit: LimitName) => Metric.withAttributes(rateLimited, { limit })
const failed = (operation: StoreOperation) => Metric.withAttributes(protectionStoreFailures, { operation })

export const countRateLimited = (limit: LimitName) => Metric.update(limited(limit), 1)
const limitedSeries = new Map(LimitNames.map((limit) => [limit, limited(limit)] as const))
/** The same count from synchronous code (per-frame checks), with the services of the caller that set them up. */
export const countRateLimitedUnsafe = (limit: LimitName, context: Context.Context<never>) =>
  limitedSeries.get(limit)!.updateUnsafe(1, context)
export const countStoreFailure = (operation: StoreOperation) => Metric.update(failed(operation), 1)

export const registerProtectionSeries = Effect.gen(function* () {
  for (const limit of LimitNames) yield* Metric.value(limited(limit))
  for (const operation of StoreOperations) yield* Metric.value(failed(operation))
})

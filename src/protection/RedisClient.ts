// The Redis connection behind shared limits and leases (REDIS_URL), through @effect/platform-node's NodeRedis.
// Commands fail fast while disconnected (no offline queue) and the client reconnects for ever once it has started;
// an unreachable Redis at start stops the server with a clear error.
import { NodeRedis } from "@effect/platform-node"
import { Effect, Layer, Redacted } from "effect"

/** NodeRedis for `url`. The URL may carry a password: it is never logged. */
export const redisLayer = (redactedUrl: Redacted.Redacted<string>, timeoutMs: number) => {
  const url = Redacted.value(redactedUrl)
  let started = false
  return NodeRedis.layer({
    url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: Math.max(timeoutMs, 1000),
      // Before the first connection: give up (the start fails). After: retry with a capped backoff, for ever.
      reconnectStrategy: (retries: number, cause: Error) => (started ? Math.min(50 * 2 ** retries, 2000) : cause)
    }
  }).pipe(
    Layer.tap(() =>
      Effect.sync(() => {
        started = true
      })
    ),
    Layer.tapError((error) =>
      Effect.logError("REDIS_URL is set but Redis cannot be reached at start; the server does not start", {
        cause: String(error.cause)
      })
    )
  )
}

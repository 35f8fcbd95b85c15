// Limits of one connection: text messages per window, and audio ahead of real time (a token bucket in ms of audio
// refilled by the clock). Each session gets its own in-memory RateLimiter, dropped with the session.
import { Duration, Effect, Layer } from "effect"
import { RateLimiter } from "effect/persistence"
import type { ProtectionSettings } from "../config/ProtectionSettings.ts"
import { Allowed, consumeOnce, type Verdict } from "./Limits.ts"
import { countRateLimited } from "./ProtectionMetrics.ts"

export interface ConnectionLimits {
  /** One text message. */
  readonly message: Effect.Effect<Verdict>
  /** An audio frame of `audioMs` milliseconds. */
  readonly audio: (audioMs: number) => Effect.Effect<Verdict>
}

export const makeConnectionLimits = Effect.fnUntraced(function* (settings: ProtectionSettings) {
  const limiter = yield* RateLimiter.make.pipe(Effect.provide(Layer.fresh(RateLimiter.layerStoreMemory)))
  const counted = (name: "message" | "audio") => (verdict: Verdict) =>
    verdict.allowed ? Effect.void : countRateLimited(name)
  const limits: ConnectionLimits = {
    message: consumeOnce(limiter, "message", "connection", settings.messagesPerConnection).pipe(
      Effect.orElseSucceed(() => Allowed),
      Effect.tap(counted("message"))
    ),
    audio: (audioMs) =>
      limiter
        .consume({
          key: "audio",
          algorithm: "token-bucket",
          // One token per ms of audio, refilled at one per ms of wall-clock time.
          limit: settings.audioAheadMs,
          window: settings.audioAheadMs,
          tokens: Math.max(1, Math.ceil(audioMs))
        })
        .pipe(
          Effect.as(Allowed),
          Effect.catchReason("RateLimiterError", "RateLimitExceeded", (exceeded) =>
            Effect.succeed<Verdict>({
              allowed: false,
              retryAfterMs: Math.max(1, Math.ceil(Duration.toMillis(exceeded.retryAfter)))
            })
          ),
          Effect.orElseSucceed(() => Allowed),
          Effect.tap(counted("audio"))
        )
  }
  return limits
})

// Limits of one connection, checked synchronously on every frame (no effect or fiber per frame): text messages per
// fixed window, and audio ahead of real time (a token bucket in ms of audio, refilled by the clock, 1 ms per ms).
import { Clock, Effect } from "effect"
import type { ProtectionSettings } from "../config/ProtectionSettings.ts"
import { Allowed, type Verdict } from "./Limits.ts"
import { countRateLimitedUnsafe } from "./ProtectionMetrics.ts"

export interface ConnectionLimits {
  /** One text message. */
  readonly message: () => Verdict
  /** An audio frame of `audioMs` milliseconds. */
  readonly audio: (audioMs: number) => Verdict
}

export const makeConnectionLimits = Effect.fnUntraced(function* (settings: ProtectionSettings) {
  const clock = yield* Clock.Clock
  const context = yield* Effect.context<never>()
  const { max, windowMs } = settings.messagesPerConnection
  let windowStart = Number.NEGATIVE_INFINITY
  let messages = 0
  const capacity = settings.audioAheadMs
  let tokens = capacity
  let refilledAt = clock.currentTimeMillisUnsafe()
  const refused = (name: "message" | "audio", retryAfterMs: number): Verdict => {
    countRateLimitedUnsafe(name, context)
    return { allowed: false, retryAfterMs: Math.max(1, Math.ceil(retryAfterMs)) }
  }
  const limits: ConnectionLimits = {
    message: () => {
      const now = clock.currentTimeMillisUnsafe()
      if (now - windowStart >= windowMs) {
        windowStart = now
        messages = 0
      }
      if (messages >= max) return refused("message", windowStart + windowMs - now)
      messages++
      return Allowed
    },
    audio: (audioMs) => {
      const now = clock.currentTimeMillisUnsafe()
      tokens = Math.min(capacity, tokens + (now - refilledAt))
      refilledAt = now
      if (tokens < audioMs) return refused("audio", audioMs - tokens)
      tokens -= audioMs
      return Allowed
    }
  }
  return limits
})

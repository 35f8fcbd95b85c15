// A circuit breaker per provider: after `failureThreshold` failures in a row the provider is skipped for `cooldownMs`,
// so a dead provider does not cost every turn its timeout; then one trial call decides whether it is back.
import { Clock, Effect } from "effect"

export interface CircuitBreakerSettings {
  readonly failureThreshold: number
  readonly cooldownMs: number
}

export interface CircuitBreaker {
  /** True while the provider should be skipped. After the cool-down one call goes through (half-open). */
  readonly isOpen: Effect.Effect<boolean>
  readonly onSuccess: Effect.Effect<void>
  readonly onFailure: Effect.Effect<void>
}

export const makeCircuitBreaker = (settings: CircuitBreakerSettings): CircuitBreaker => {
  let failures = 0
  let openUntil = Number.NEGATIVE_INFINITY
  let trialInFlight = false
  return {
    isOpen: Effect.map(Clock.currentTimeMillis, (now) => {
      if (failures < settings.failureThreshold) return false
      if (now < openUntil || trialInFlight) return true
      trialInFlight = true
      return false
    }),
    onSuccess: Effect.sync(() => {
      failures = 0
      trialInFlight = false
    }),
    onFailure: Effect.map(Clock.currentTimeMillis, (now) => {
      failures++
      trialInFlight = false
      if (failures >= settings.failureThreshold) openUntil = now + settings.cooldownMs
    })
  }
}

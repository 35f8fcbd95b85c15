// Shared limits over Effect's RateLimiter under TestClock: exact count, retry-after, the window, and fail-open when
// the shared store fails.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Metric } from "effect"
import { RateLimiter } from "effect/persistence"
import { TestClock } from "effect/testing"
import { protectionStoreFailures } from "../../src/observability/Metrics.ts"
import { Limits, localLimitsLayer, makeLimits, type Verdict } from "../../src/protection/Limits.ts"
import { MemoryWindows } from "../../src/protection/MemoryWindows.ts"

const memoryLimiter = RateLimiter.make.pipe(Effect.provide(Layer.fresh(RateLimiter.layerStoreMemory)))

/** A limiter whose store is down: every call fails as Redis would. Only `consume` is used by Limits. */
const brokenLimiter = {
  consume: () =>
    Effect.fail(
      new RateLimiter.RateLimiterError({
        reason: new RateLimiter.RateLimitStoreError({ message: "connection refused" })
      })
    )
} as unknown as RateLimiter.RateLimiter

const allowedCount = (verdicts: ReadonlyArray<Verdict>) => verdicts.filter((v) => v.allowed).length
const limit = { max: 5, windowMs: 60000 }

describe("Limits", () => {
  it.effect("admits exactly `max` in the window, then refuses with a retry-after until the window has passed", () =>
    Effect.gen(function* () {
      const limits = makeLimits(yield* memoryLimiter, new MemoryWindows(), 500)
      const first = yield* Effect.forEach(Array.from({ length: 8 }), () => limits.check("connect_user", "u", limit))
      assert.strictEqual(allowedCount(first), 5)
      const refused = first[5]!
      assert.isFalse(refused.allowed)
      if (!refused.allowed) assert.isTrue(refused.retryAfterMs > 0 && refused.retryAfterMs <= 60000)
      // Another key has its own count.
      assert.isTrue((yield* limits.check("connect_user", "v", limit)).allowed)
      yield* TestClock.adjust(60000)
      assert.isTrue((yield* limits.check("connect_user", "u", limit)).allowed)
    })
  )

  it.effect("fails open when the shared store fails: a local limiter counts instead, and the failure is counted", () =>
    Effect.gen(function* () {
      const failures = Metric.withAttributes(protectionStoreFailures, { operation: "rate_limit" })
      const before = (yield* Metric.value(failures)).count
      const limits = makeLimits(brokenLimiter, new MemoryWindows(), 500)
      const verdicts = yield* Effect.forEach(Array.from({ length: 7 }), () => limits.check("turn", "u", limit))
      // Never crashes, and still limits, per instance.
      assert.strictEqual(allowedCount(verdicts), 5)
      assert.strictEqual((yield* Metric.value(failures)).count - before, 7)
    })
  )

  it.effect("one instance's limits: exactly `max` per window per key, then a retry-after until the window ends", () =>
    Effect.gen(function* () {
      const limits = yield* Limits
      const verdicts = yield* Effect.forEach(Array.from({ length: 7 }), () => limits.check("connect_ip", "ip", limit))
      assert.strictEqual(allowedCount(verdicts), 5)
      const refused = verdicts[5]!
      assert.isFalse(refused.allowed)
      if (!refused.allowed) assert.strictEqual(refused.retryAfterMs, 60000)
      yield* TestClock.adjust(59999)
      assert.isFalse((yield* limits.check("connect_ip", "ip", limit)).allowed)
      yield* TestClock.adjust(1)
      assert.isTrue((yield* limits.check("connect_ip", "ip", limit)).allowed)
    }).pipe(Effect.provide(localLimitsLayer))
  )

  it("in-memory windows forget the keys whose window has ended, so distinct users do not pile up", () => {
    const windows = new MemoryWindows()
    for (let i = 0; i < 10_000; i++) windows.take(`user-${i}`, limit, 1_000 + i)
    assert.strictEqual(windows.size, 10_000)
    // Past every one of those windows, the next count sweeps them.
    windows.take("someone-new", limit, 1_000 + 10_000 + limit.windowMs)
    assert.strictEqual(windows.size, 1)
  })
})

// The resilience policy under TestClock: first-chunk and idle timeouts, retries with backoff and jitter for
// retryable errors only, retry-after, no retry once output has started, and the per-port concurrency limit.
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Exit, Fiber, Semaphore, Stream } from "effect"
import { TestClock } from "effect/testing"
import type { PortPolicy } from "../../src/config/PortPolicy.ts"
import { LlmError } from "../../src/pipeline/Llm.ts"
import { guardEffect, guardStream } from "../../src/pipeline/Resilience.ts"

const policy: PortPolicy = {
  firstChunkTimeoutMs: 1000,
  idleTimeoutMs: 500,
  retries: 3,
  retryBaseDelayMs: 100,
  retryMaxDelayMs: 250,
  concurrency: 10
}

const llmError = (retryable: boolean, retryAfterMs?: number) =>
  new LlmError({
    reason: "unavailable",
    retryable,
    message: "upstream unavailable",
    ...(retryAfterMs === undefined ? {} : { retryAfterMs })
  })

/** A guarded stream over `attempt`, recording the clock time of each attempt. */
const guarded = (attempt: (n: number) => Stream.Stream<string, LlmError>, p: PortPolicy = policy) =>
  Effect.gen(function* () {
    const permits = yield* Semaphore.make(p.concurrency)
    const times: Array<number> = []
    const stream = guardStream(
      p,
      permits,
      (fields) => new LlmError(fields)
    )(() =>
      Stream.unwrap(
        Effect.map(Clock.currentTimeMillis, (now) => {
          times.push(now)
          return attempt(times.length)
        })
      )
    )
    return { stream, times }
  })

/** Starts consuming `stream` and lets it reach its first wait before the test moves the clock. */
const runFork = <A, E>(stream: Stream.Stream<A, E>) =>
  Effect.tap(Effect.forkChild(Stream.runCollect(stream)), () => Effect.repeat(Effect.yieldNow, { times: 20 }))

describe("Resilience.guardStream", () => {
  it.effect("a provider that hangs fails with a retryable timeout after firstChunkTimeoutMs, on every attempt", () =>
    Effect.gen(function* () {
      const { stream, times } = yield* guarded(() => Stream.never, { ...policy, retries: 0 })
      const fiber = yield* runFork(stream)
      yield* TestClock.adjust(999)
      assert.isUndefined(fiber.pollUnsafe())
      yield* TestClock.adjust(1)
      const exit = yield* Fiber.await(fiber)
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.findErrorOption(exit)
      assert.strictEqual(error._tag === "Some" && error.value.reason, "timeout")
      assert.strictEqual(error._tag === "Some" && error.value.retryable, true)
      assert.deepStrictEqual(times, [0])
    })
  )

  it.effect("a retryable failure is retried `retries` times with exponential, jittered, capped delays", () =>
    Effect.gen(function* () {
      const { stream, times } = yield* guarded(() => Stream.fail(llmError(true)))
      const fiber = yield* runFork(stream)
      yield* TestClock.adjust(10_000)
      const exit = yield* Fiber.await(fiber)
      assert.isTrue(Exit.isFailure(exit))
      assert.strictEqual(times.length, 4, "one attempt and three retries")
      const delays = times.slice(1).map((t, i) => t - times[i]!)
      // base 100 ms doubling (100, 200, 400), each scaled by a random 0.8–1.2, then capped at 250.
      const nominal = [100, 200, 250]
      delays.forEach((delay, i) => {
        assert.isAtLeast(delay, nominal[i]! * 0.8 - 1, `retry ${i + 1} waited ${delay} ms`)
        assert.isAtMost(
          delay,
          Math.min(nominal[i]! * 1.2, policy.retryMaxDelayMs) + 1,
          `retry ${i + 1} waited ${delay} ms`
        )
      })
    })
  )

  it.effect("a retry does not come before its delay: nothing happens at 79 ms, the retry by 120 ms", () =>
    Effect.gen(function* () {
      const { stream, times } = yield* guarded(() => Stream.fail(llmError(true)), { ...policy, retries: 1 })
      yield* runFork(stream)
      yield* TestClock.adjust(79)
      assert.strictEqual(times.length, 1)
      yield* TestClock.adjust(41)
      assert.strictEqual(times.length, 2)
    })
  )

  it.effect("a non-retryable failure is not retried", () =>
    Effect.gen(function* () {
      const { stream, times } = yield* guarded(() => Stream.fail(llmError(false)))
      const fiber = yield* runFork(stream)
      yield* TestClock.adjust(10_000)
      assert.isTrue(Exit.isFailure(yield* Fiber.await(fiber)))
      assert.strictEqual(times.length, 1)
    })
  )

  it.effect("a provider's retry-after is honoured when longer than the backoff", () =>
    Effect.gen(function* () {
      const { stream, times } = yield* guarded(() => Stream.fail(llmError(true, 2000)), { ...policy, retries: 1 })
      yield* runFork(stream)
      yield* TestClock.adjust(1999)
      assert.strictEqual(times.length, 1)
      yield* TestClock.adjust(1)
      assert.strictEqual(times.length, 2)
    })
  )

  it.effect("it recovers when a retry succeeds, and the caller sees only the good attempt's output", () =>
    Effect.gen(function* () {
      const { stream, times } = yield* guarded((n) => (n < 3 ? Stream.fail(llmError(true)) : Stream.make("a", "b")))
      const fiber = yield* runFork(stream)
      yield* TestClock.adjust(10_000)
      assert.deepStrictEqual(yield* Fiber.join(fiber), ["a", "b"])
      assert.strictEqual(times.length, 3)
    })
  )

  it.effect("once output has started, a failure is not retried (sent output cannot be taken back)", () =>
    Effect.gen(function* () {
      const { stream, times } = yield* guarded(() => Stream.make("a").pipe(Stream.concat(Stream.fail(llmError(true)))))
      const fiber = yield* runFork(stream)
      yield* TestClock.adjust(10_000)
      assert.isTrue(Exit.isFailure(yield* Fiber.await(fiber)))
      assert.strictEqual(times.length, 1)
    })
  )

  it.effect("a stream that stalls after its first chunk fails after idleTimeoutMs", () =>
    Effect.gen(function* () {
      const { stream } = yield* guarded(() => Stream.make("a").pipe(Stream.concat(Stream.never)))
      const fiber = yield* runFork(stream)
      yield* TestClock.adjust(499)
      assert.isUndefined(fiber.pollUnsafe())
      yield* TestClock.adjust(1)
      const error = Exit.findErrorOption(yield* Fiber.await(fiber))
      assert.strictEqual(error._tag === "Some" && error.value.reason, "timeout")
    })
  )

  it.effect("a stream whose chunks come within idleTimeoutMs of each other runs past it in all", () =>
    Effect.gen(function* () {
      const { stream } = yield* guarded(() =>
        Stream.range(1, 10).pipe(Stream.mapEffect((i) => Effect.as(Effect.sleep(400), String(i))))
      )
      const fiber = yield* runFork(stream)
      for (let i = 0; i < 10; i++) yield* TestClock.adjust(400)
      const exit = yield* Fiber.await(fiber)
      assert.deepStrictEqual(Exit.isSuccess(exit) ? Array.from(exit.value) : exit, [
        "1",
        "2",
        "3",
        "4",
        "5",
        "6",
        "7",
        "8",
        "9",
        "10"
      ])
    })
  )

  it.effect("a slow consumer is not a stalled provider: no timeout while the output waits to be taken", () =>
    Effect.gen(function* () {
      // The provider has all 40 chunks at once; the consumer takes one every 2 s, 4× the idle timeout.
      const { stream } = yield* guarded(() => Stream.range(1, 40).pipe(Stream.map(String), Stream.rechunk(1)))
      const taken: Array<string> = []
      const fiber = yield* Effect.forkChild(
        Stream.runForEach(stream, (n) =>
          Effect.andThen(
            Effect.sleep(2000),
            Effect.sync(() => taken.push(n))
          )
        )
      )
      for (let i = 0; i < 40; i++) yield* TestClock.adjust(2000)
      const exit = yield* Fiber.await(fiber)
      assert.deepStrictEqual(Exit.isSuccess(exit) ? taken.length : String(exit), 40)
    })
  )

  it.effect("an attempt that timed out is dropped: its late output never reaches the consumer, the retry's does", () =>
    Effect.gen(function* () {
      const { stream, times } = yield* guarded((n) =>
        n === 1 ? Stream.fromEffect(Effect.as(Effect.sleep(1500), "late")) : Stream.make("retried")
      )
      const fiber = yield* runFork(stream)
      for (let i = 0; i < 30; i++) yield* TestClock.adjust(100)
      const exit = yield* Fiber.await(fiber)
      assert.deepStrictEqual(Exit.isSuccess(exit) ? Array.from(exit.value) : String(exit), ["retried"])
      assert.strictEqual(times.length, 2)
      assert.isAtLeast(times[1]!, 1000)
    })
  )

  it.effect("the concurrency limit holds: a second call waits for the first to finish", () =>
    Effect.gen(function* () {
      const one = { ...policy, concurrency: 1 }
      const permits = yield* Semaphore.make(1)
      const guard = guardStream(one, permits, (fields) => new LlmError(fields))
      const starts: Array<number> = []
      const call = guard(() =>
        Stream.unwrap(
          Effect.map(Clock.currentTimeMillis, (now) => {
            starts.push(now)
            return Stream.make("x").pipe(Stream.tap(() => Effect.sleep(300)))
          })
        )
      )
      const a = yield* runFork(call)
      const b = yield* runFork(call)
      yield* TestClock.adjust(1000)
      yield* Fiber.join(a)
      yield* Fiber.join(b)
      assert.deepStrictEqual(starts, [0, 300])
    })
  )
})

describe("Resilience.guardEffect", () => {
  it.effect("a single-answer call that hangs times out, and a retryable failure is retried", () =>
    Effect.gen(function* () {
      const permits = yield* Semaphore.make(10)
      const guard = guardEffect({ ...policy, retries: 1 }, permits, (fields) => new LlmError(fields))
      let calls = 0
      const fiber = yield* Effect.forkChild(
        guard(
          Effect.suspend(() => {
            calls++
            return Effect.never
          })
        )
      )
      yield* TestClock.adjust(10_000)
      const error = Exit.findErrorOption(yield* Fiber.await(fiber))
      assert.strictEqual(error._tag === "Some" && error.value.reason, "timeout")
      assert.strictEqual(calls, 2)
    })
  )
})

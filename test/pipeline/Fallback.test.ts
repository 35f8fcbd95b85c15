// Fallback between providers and the circuit breaker, under TestClock: the next provider answers when the first
// fails or hangs before any output; output already sent is never replayed; a dead provider is skipped for the
// cool-down, then tried once.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Semaphore, Stream } from "effect"
import { TestClock } from "effect/testing"
import type { PortPolicy } from "../../src/config/PortPolicy.ts"
import { makeCircuitBreaker } from "../../src/pipeline/CircuitBreaker.ts"
import { type Candidate, fallbackStream } from "../../src/pipeline/Fallback.ts"
import { LlmError } from "../../src/pipeline/Llm.ts"
import { guardStream } from "../../src/pipeline/Resilience.ts"

const policy: PortPolicy = {
  firstChunkTimeoutMs: 1000,
  idleTimeoutMs: 1000,
  retries: 0,
  retryBaseDelayMs: 100,
  retryMaxDelayMs: 100,
  concurrency: 10
}

type Behaviour = "ok" | "fail" | "hang" | "fail-after-output"

/** A provider whose behaviour the test sets, counting its calls, under the real resilience guard. */
const provider = (name: string, breaker = makeCircuitBreaker({ failureThreshold: 2, cooldownMs: 30_000 })) => {
  const state = { behaviour: "ok" as Behaviour, calls: 0 }
  const guard = guardStream(policy, Semaphore.makeUnsafe(10), (fields) => new LlmError(fields))
  const candidate: Candidate<string, LlmError> = {
    name,
    breaker,
    call: () =>
      guard(() =>
        Stream.suspend(() => {
          state.calls++
          const failure = new LlmError({ reason: "unavailable", retryable: true, message: `${name} down` })
          switch (state.behaviour) {
            case "ok":
              return Stream.make(`${name}-1`, `${name}-2`)
            case "fail":
              return Stream.fail(failure)
            case "hang":
              return Stream.never
            case "fail-after-output":
              return Stream.make(`${name}-1`).pipe(Stream.concat(Stream.fail(failure)))
          }
        })
      )
  }
  return { state, candidate }
}

const collect = (candidates: ReadonlyArray<Candidate<string, LlmError>>, served: Array<string> = []) =>
  Effect.forkChild(
    Stream.runCollect(fallbackStream(candidates, (name) => Effect.sync(() => served.push(name)))).pipe(
      Effect.map((chunks) => Array.from(chunks))
    )
  )

describe("fallbackStream", () => {
  it.effect("the first provider answers when it is healthy; the second is not called", () =>
    Effect.gen(function* () {
      const a = provider("a")
      const b = provider("b")
      const served: Array<string> = []
      const fiber = yield* collect([a.candidate, b.candidate], served)
      assert.deepStrictEqual(yield* Fiber.join(fiber), ["a-1", "a-2"])
      assert.deepStrictEqual([a.state.calls, b.state.calls, served], [1, 0, ["a"]])
    })
  )

  it.effect("a failure before any output falls back to the next provider", () =>
    Effect.gen(function* () {
      const a = provider("a")
      const b = provider("b")
      a.state.behaviour = "fail"
      const served: Array<string> = []
      const fiber = yield* collect([a.candidate, b.candidate], served)
      assert.deepStrictEqual(yield* Fiber.join(fiber), ["b-1", "b-2"])
      assert.deepStrictEqual(served, ["b"])
    })
  )

  it.effect("a provider that hangs is abandoned at its first-chunk timeout and the next one answers", () =>
    Effect.gen(function* () {
      const a = provider("a")
      const b = provider("b")
      a.state.behaviour = "hang"
      const fiber = yield* collect([a.candidate, b.candidate])
      yield* TestClock.adjust(999)
      assert.isUndefined(fiber.pollUnsafe())
      yield* TestClock.adjust(1)
      assert.deepStrictEqual(yield* Fiber.join(fiber), ["b-1", "b-2"])
    })
  )

  it.effect("a failure after output is NOT replayed on the next provider: the call fails", () =>
    Effect.gen(function* () {
      const a = provider("a")
      const b = provider("b")
      a.state.behaviour = "fail-after-output"
      const out: Array<string> = []
      const exit = yield* Stream.runForEach(fallbackStream([a.candidate, b.candidate]), (x) =>
        Effect.sync(() => out.push(x))
      ).pipe(Effect.exit)
      assert.isTrue(Exit.isFailure(exit))
      assert.deepStrictEqual(out, ["a-1"])
      assert.strictEqual(b.state.calls, 0)
    })
  )

  it.effect("when every provider fails, the last error is the call's error", () =>
    Effect.gen(function* () {
      const a = provider("a")
      const b = provider("b")
      a.state.behaviour = "fail"
      b.state.behaviour = "fail"
      const exit = yield* Stream.runCollect(fallbackStream([a.candidate, b.candidate])).pipe(Effect.exit)
      const error = Exit.findErrorOption(exit)
      assert.strictEqual(error._tag === "Some" && error.value.message, "b down")
    })
  )

  it.effect("after 2 failures the circuit opens: the dead provider is skipped for the cool-down, then tried once", () =>
    Effect.gen(function* () {
      const a = provider("a")
      const b = provider("b")
      a.state.behaviour = "fail"
      for (let i = 0; i < 2; i++) yield* Fiber.join(yield* collect([a.candidate, b.candidate]))
      assert.strictEqual(a.state.calls, 2)
      // Open: a is not called at all.
      assert.deepStrictEqual(yield* Fiber.join(yield* collect([a.candidate, b.candidate])), ["b-1", "b-2"])
      assert.strictEqual(a.state.calls, 2)
      // After the cool-down one trial goes to a; it has recovered, so the circuit closes.
      yield* TestClock.adjust(30_000)
      a.state.behaviour = "ok"
      assert.deepStrictEqual(yield* Fiber.join(yield* collect([a.candidate, b.candidate])), ["a-1", "a-2"])
      assert.strictEqual(a.state.calls, 3)
      assert.deepStrictEqual(yield* Fiber.join(yield* collect([a.candidate, b.candidate])), ["a-1", "a-2"])
    })
  )

  it.effect("a failed trial after the cool-down opens the circuit again at once", () =>
    Effect.gen(function* () {
      const a = provider("a")
      const b = provider("b")
      a.state.behaviour = "fail"
      for (let i = 0; i < 2; i++) yield* Fiber.join(yield* collect([a.candidate, b.candidate]))
      yield* TestClock.adjust(30_000)
      yield* Fiber.join(yield* collect([a.candidate, b.candidate]))
      assert.strictEqual(a.state.calls, 3, "the trial")
      yield* Fiber.join(yield* collect([a.candidate, b.candidate]))
      assert.strictEqual(a.state.calls, 3, "open again")
    })
  )

  it.effect("with every circuit open, the providers are tried anyway rather than failing without a call", () =>
    Effect.gen(function* () {
      const a = provider("a")
      a.state.behaviour = "fail"
      for (let i = 0; i < 2; i++) yield* Stream.runCollect(fallbackStream([a.candidate])).pipe(Effect.exit)
      a.state.behaviour = "ok"
      assert.deepStrictEqual(Array.from(yield* Stream.runCollect(fallbackStream([a.candidate]))), ["a-1", "a-2"])
    })
  )

  it.effect("a later provider's half-open trial is not used up by calls the first provider serves", () =>
    Effect.gen(function* () {
      const a = provider("a")
      const b = provider("b")
      a.state.behaviour = "fail"
      b.state.behaviour = "fail"
      for (let i = 0; i < 2; i++) yield* Stream.runCollect(fallbackStream([a.candidate, b.candidate])).pipe(Effect.exit)
      yield* TestClock.adjust(30_000)
      // a has recovered and serves; b (open, cooled down) must not be asked, so its trial stays available.
      a.state.behaviour = "ok"
      assert.deepStrictEqual(Array.from(yield* Stream.runCollect(fallbackStream([a.candidate, b.candidate]))), [
        "a-1",
        "a-2"
      ])
      assert.deepStrictEqual(Array.from(yield* Stream.runCollect(fallbackStream([a.candidate, b.candidate]))), [
        "a-1",
        "a-2"
      ])
      // a fails again: b gets its trial, and has recovered.
      a.state.behaviour = "fail"
      b.state.behaviour = "ok"
      const callsBefore = b.state.calls
      assert.deepStrictEqual(Array.from(yield* Stream.runCollect(fallbackStream([a.candidate, b.candidate]))), [
        "b-1",
        "b-2"
      ])
      assert.strictEqual(b.state.calls, callsBefore + 1)
    })
  )
})

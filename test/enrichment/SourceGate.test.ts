// Upstream politeness (src/enrichment/SourceGate.ts) under TestClock: the per-source request budget (skipped, never
// waited for), 429 backoff honouring Retry-After (the source is skipped meanwhile, then asked again), exponential
// backoff without Retry-After, and the circuit that pauses a source failing repeatedly.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer } from "effect"
import { RateLimiter } from "effect/persistence"
import { TestClock } from "effect/testing"
import { SourceError } from "../../src/enrichment/SourceError.ts"
import { makeSourceGate } from "../../src/enrichment/SourceGate.ts"

const Limiter = RateLimiter.layer.pipe(Layer.provide(RateLimiter.layerStoreMemory))

const gateWith = (ratePerMin: number) =>
  Effect.map(Effect.service(RateLimiter.RateLimiter), (limiter) =>
    makeSourceGate({ source: "coingecko", ratePerMin }, limiter)
  )

const rateLimited = (retryAfterMs?: number) =>
  new SourceError({
    source: "coingecko",
    reason: "rate_limited",
    message: "HTTP 429",
    status: 429,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs })
  })

/** Runs the gate once over `call`; returns the error reason or "ok", and counts real calls. */
const attempt = (
  gate: ReturnType<typeof makeSourceGate>,
  counter: { n: number },
  result: Effect.Effect<string, SourceError>
) =>
  gate
    .run(
      Effect.suspend(() => {
        counter.n++
        return result
      })
    )
    .pipe(
      Effect.exit,
      Effect.map((exit) =>
        Exit.isSuccess(exit) ? "ok" : Exit.findErrorOption(exit).pipe((e) => (e._tag === "Some" ? e.value.reason : "?"))
      )
    )

describe("SourceGate", () => {
  it.effect("beyond the per-minute budget the source is skipped (throttled), not waited for; it refills", () =>
    Effect.gen(function* () {
      const gate = yield* gateWith(3)
      const counter = { n: 0 }
      const outcomes = yield* Effect.forEach(Array.from({ length: 5 }), () =>
        attempt(gate, counter, Effect.succeed("x"))
      )
      assert.deepStrictEqual(outcomes, ["ok", "ok", "ok", "throttled", "throttled"])
      assert.strictEqual(counter.n, 3)
      yield* TestClock.adjust(20_000) // one token back (3 a minute)
      assert.strictEqual(yield* attempt(gate, counter, Effect.succeed("x")), "ok")
    }).pipe(Effect.provide(Limiter))
  )

  it.effect("a 429 with Retry-After: skipped (backing_off) until it has passed, then asked again", () =>
    Effect.gen(function* () {
      const gate = yield* gateWith(100)
      const counter = { n: 0 }
      assert.strictEqual(yield* attempt(gate, counter, Effect.fail(rateLimited(30_000))), "rate_limited")
      assert.strictEqual(yield* gate.backoffRemainingMs, 30_000)
      yield* TestClock.adjust(29_999)
      assert.strictEqual(yield* attempt(gate, counter, Effect.succeed("x")), "backing_off")
      assert.strictEqual(counter.n, 1, "no request while backing off")
      yield* TestClock.adjust(1)
      assert.strictEqual(yield* attempt(gate, counter, Effect.succeed("x")), "ok")
      assert.strictEqual(counter.n, 2)
    }).pipe(Effect.provide(Limiter))
  )

  it.effect("429s without Retry-After back off exponentially from 30 s (±20 %), reset by a success", () =>
    Effect.gen(function* () {
      const gate = yield* gateWith(100)
      const counter = { n: 0 }
      const waits: Array<number> = []
      for (let i = 0; i < 3; i++) {
        yield* attempt(gate, counter, Effect.fail(rateLimited()))
        const wait = yield* gate.backoffRemainingMs
        waits.push(wait)
        yield* TestClock.adjust(wait)
      }
      const nominal = [30_000, 60_000, 120_000]
      waits.forEach((w, i) => {
        assert.isAtLeast(w, nominal[i]! * 0.8 - 1)
        assert.isAtMost(w, nominal[i]! * 1.2 + 1)
      })
      yield* attempt(gate, counter, Effect.succeed("x"))
      yield* attempt(gate, counter, Effect.fail(rateLimited()))
      assert.isAtMost(yield* gate.backoffRemainingMs, 36_001, "back to the first step after a success")
    }).pipe(Effect.provide(Limiter))
  )

  it.effect("an absurd Retry-After is capped at one hour", () =>
    Effect.gen(function* () {
      const gate = yield* gateWith(100)
      yield* attempt(gate, { n: 0 }, Effect.fail(rateLimited(7 * 24 * 3_600_000)))
      assert.strictEqual(yield* gate.backoffRemainingMs, 3_600_000)
    }).pipe(Effect.provide(Limiter))
  )

  it.effect("three faults in a row open the circuit for 30 s; then one trial call decides", () =>
    Effect.gen(function* () {
      const gate = yield* gateWith(100)
      const counter = { n: 0 }
      const down = Effect.fail(new SourceError({ source: "coingecko", reason: "unavailable", message: "HTTP 500" }))
      for (let i = 0; i < 3; i++) assert.strictEqual(yield* attempt(gate, counter, down), "unavailable")
      assert.strictEqual(yield* attempt(gate, counter, Effect.succeed("x")), "circuit_open")
      assert.strictEqual(counter.n, 3)
      yield* TestClock.adjust(30_000)
      assert.strictEqual(yield* attempt(gate, counter, Effect.succeed("x")), "ok")
      assert.strictEqual(yield* attempt(gate, counter, Effect.succeed("x")), "ok")
    }).pipe(Effect.provide(Limiter))
  )

  it.effect("an asset the source does not list is not a fault", () =>
    Effect.gen(function* () {
      const gate = yield* gateWith(100)
      const counter = { n: 0 }
      const notListed = Effect.fail(new SourceError({ source: "binance", reason: "not_listed", message: "XMR" }))
      for (let i = 0; i < 5; i++) assert.strictEqual(yield* attempt(gate, counter, notListed), "not_listed")
      assert.strictEqual(yield* attempt(gate, counter, Effect.succeed("x")), "ok")
    }).pipe(Effect.provide(Limiter))
  )
})

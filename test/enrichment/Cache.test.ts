// The enrichment cache (src/enrichment/Cache.ts) under TestClock with an in-memory fetcher: TTL, stale-while-
// revalidate, maximum staleness, single-flight under 100 concurrent callers, batching, a bounded wait that does not
// cancel the fetch, failure memory, fetch timeout and crash, the LRU size bound, and warm().
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Fiber, Result } from "effect"
import { TestClock } from "effect/testing"
import { type CacheOptions, type Lookup, makeCache } from "../../src/enrichment/Cache.ts"

interface Call {
  readonly keys: ReadonlyArray<string>
  readonly at: number
}

/** How the fake upstream answers a key on call number `n` (1-based). */
type Behaviour = (key: string, n: number) => Effect.Effect<Result.Result<string, string>>

const ok =
  (latencyMs = 100): Behaviour =>
  (key, n) =>
    Effect.as(Effect.sleep(latencyMs), Result.succeed(`${key}@${n}`))

const makeHarness = (behaviour: Behaviour, options: Partial<CacheOptions<string, string>> = {}) =>
  Effect.gen(function* () {
    const calls: Array<Call> = []
    const cache = yield* makeCache<string, string>({
      name: "test",
      ttlMs: 15_000,
      maxStaleMs: 60_000,
      failureTtlMs: 5_000,
      capacity: 100,
      timeoutMs: 2_000,
      maxBatch: 25,
      lost: (key, why) => `${key} ${why}`,
      fetch: (keys) =>
        Effect.gen(function* () {
          calls.push({ keys, at: yield* Clock.currentTimeMillis })
          const n = calls.length
          const results = yield* Effect.forEach(
            keys,
            (key) => Effect.map(behaviour(key, n), (r) => [key, r] as const),
            {
              concurrency: "unbounded"
            }
          )
          return new Map(results)
        }),
      ...options
    })
    return { cache, calls }
  })

/** Runs `get` in a fiber, moves the clock by `advanceMs`, and returns the lookups. */
const getAfter = <A, E>(
  get: Effect.Effect<ReadonlyMap<string, Lookup<A, E>>>,
  advanceMs: number
): Effect.Effect<ReadonlyMap<string, Lookup<A, E>>> =>
  Effect.gen(function* () {
    const fiber = yield* Effect.forkChild(get)
    yield* TestClock.adjust(advanceMs)
    return yield* Fiber.join(fiber)
  })

const tag = (lookups: ReadonlyMap<string, Lookup<string, string>>, key: string) => lookups.get(key)?._tag
const value = (lookups: ReadonlyMap<string, Lookup<string, string>>, key: string) => {
  const lookup = lookups.get(key)
  return lookup?._tag === "Fresh" || lookup?._tag === "Stale" ? lookup.value : undefined
}

describe("Cache", () => {
  it.effect("a value is fetched once and served fresh for the TTL", () =>
    Effect.gen(function* () {
      const { cache, calls } = yield* makeHarness(ok())
      const first = yield* getAfter(cache.get(["btc"], 1000), 100)
      assert.strictEqual(tag(first, "btc"), "Fresh")
      assert.strictEqual(value(first, "btc"), "btc@1")
      yield* TestClock.adjust(14_000)
      const again = yield* cache.get(["btc"], 1000)
      assert.strictEqual(tag(again, "btc"), "Fresh")
      assert.strictEqual(calls.length, 1)
    })
  )

  it.effect("single-flight: 100 concurrent callers for the same key make ONE upstream call", () =>
    Effect.gen(function* () {
      const { cache, calls } = yield* makeHarness(ok(200))
      const fibers = yield* Effect.forEach(Array.from({ length: 100 }), () =>
        Effect.forkChild(cache.get(["btc"], 1000))
      )
      yield* TestClock.adjust(200)
      const results = yield* Effect.forEach(fibers, Fiber.join)
      assert.strictEqual(calls.length, 1)
      for (const r of results) assert.strictEqual(value(r, "btc"), "btc@1")
    })
  )

  it.effect("keys missing at the same moment are fetched together, up to maxBatch per call", () =>
    Effect.gen(function* () {
      const batched = yield* makeHarness(ok())
      yield* getAfter(batched.cache.get(["btc", "eth", "sol"], 1000), 100)
      assert.deepStrictEqual(
        batched.calls.map((c) => c.keys),
        [["btc", "eth", "sol"]]
      )
      const single = yield* makeHarness(ok(), { maxBatch: 1 })
      yield* getAfter(single.cache.get(["btc", "eth"], 1000), 100)
      assert.deepStrictEqual(
        single.calls.map((c) => c.keys),
        [["btc"], ["eth"]]
      )
    })
  )

  it.effect("stale-while-revalidate: after the TTL the old value is served at once and ONE refresh runs", () =>
    Effect.gen(function* () {
      const { cache, calls } = yield* makeHarness(ok(300))
      yield* getAfter(cache.get(["btc"], 1000), 300)
      yield* TestClock.adjust(20_000) // past the 15 s TTL, within the 60 s maximum staleness
      const stale = yield* Effect.forEach(Array.from({ length: 10 }), () => cache.get(["btc"], 1000))
      for (const r of stale) {
        assert.strictEqual(tag(r, "btc"), "Stale")
        assert.strictEqual(value(r, "btc"), "btc@1")
        assert.strictEqual((r.get("btc") as { fetchedAt: number }).fetchedAt, 300)
      }
      assert.strictEqual(calls.length, 2, "one background refresh")
      yield* TestClock.adjust(300)
      const fresh = yield* cache.get(["btc"], 1000)
      assert.strictEqual(tag(fresh, "btc"), "Fresh")
      assert.strictEqual(value(fresh, "btc"), "btc@2")
    })
  )

  it.effect("past the maximum staleness a value is not served: the caller waits for a new fetch", () =>
    Effect.gen(function* () {
      const { cache, calls } = yield* makeHarness(ok(100))
      yield* getAfter(cache.get(["btc"], 1000), 100)
      yield* TestClock.adjust(61_000)
      const later = yield* getAfter(cache.get(["btc"], 1000), 100)
      assert.strictEqual(tag(later, "btc"), "Fresh")
      assert.strictEqual(value(later, "btc"), "btc@2")
      assert.strictEqual(calls.length, 2)
    })
  )

  it.effect("a caller waits at most waitMs; the fetch goes on and the next caller finds the value", () =>
    Effect.gen(function* () {
      const { cache, calls } = yield* makeHarness(ok(500))
      const early = yield* getAfter(cache.get(["btc"], 100), 100)
      assert.strictEqual(tag(early, "btc"), "Pending")
      yield* TestClock.adjust(400)
      const later = yield* cache.get(["btc"], 0)
      assert.strictEqual(tag(later, "btc"), "Fresh")
      assert.strictEqual(calls.length, 1)
    })
  )

  it.effect("a failure is returned to the waiters and remembered for failureTtlMs, then retried", () =>
    Effect.gen(function* () {
      const { cache, calls } = yield* makeHarness((key, n) =>
        Effect.as(Effect.sleep(50), n === 1 ? Result.fail(`${key} down`) : Result.succeed(`${key}@${n}`))
      )
      const failed = yield* getAfter(cache.get(["btc"], 1000), 50)
      assert.deepStrictEqual(failed.get("btc"), { _tag: "Failed", error: "btc down" })
      yield* TestClock.adjust(4_000)
      const remembered = yield* cache.get(["btc"], 1000)
      assert.strictEqual(tag(remembered, "btc"), "Failed")
      assert.strictEqual(calls.length, 1, "no new call within failureTtlMs")
      yield* TestClock.adjust(1_000)
      const retried = yield* getAfter(cache.get(["btc"], 1000), 50)
      assert.strictEqual(value(retried, "btc"), "btc@2")
      assert.strictEqual(calls.length, 2)
    })
  )

  it.effect("a failed refresh keeps serving the stale value, without a refresh storm", () =>
    Effect.gen(function* () {
      const { cache, calls } = yield* makeHarness((key, n) =>
        Effect.as(Effect.sleep(50), n === 1 ? Result.succeed(`${key}@1`) : Result.fail("down"))
      )
      yield* getAfter(cache.get(["btc"], 1000), 50)
      yield* TestClock.adjust(16_000)
      yield* getAfter(cache.get(["btc"], 1000), 50) // stale, refresh fails
      for (let i = 0; i < 5; i++) {
        const r = yield* cache.get(["btc"], 1000)
        assert.strictEqual(value(r, "btc"), "btc@1")
        assert.strictEqual(tag(r, "btc"), "Stale")
      }
      assert.strictEqual(calls.length, 2)
    })
  )

  it.effect("a fetch that hangs fails its keys after timeoutMs and releases its waiters", () =>
    Effect.gen(function* () {
      const { cache } = yield* makeHarness(() => Effect.never, { timeoutMs: 2_000 })
      const fiber = yield* Effect.forkChild(cache.get(["btc"], 10_000))
      yield* TestClock.adjust(1_999)
      assert.isUndefined(fiber.pollUnsafe())
      yield* TestClock.adjust(1)
      const r = yield* Fiber.join(fiber)
      assert.deepStrictEqual(r.get("btc"), { _tag: "Failed", error: "btc timeout" })
    })
  )

  it.effect("a fetch that crashes fails its keys; the caller does not crash", () =>
    Effect.gen(function* () {
      const { cache } = yield* makeHarness(() => Effect.die(new Error("bug")))
      const r = yield* cache.get(["btc"], 1000)
      assert.deepStrictEqual(r.get("btc"), { _tag: "Failed", error: "btc crashed" })
    })
  )

  it.effect("a key the fetcher does not answer fails as absent", () =>
    Effect.gen(function* () {
      const cache = yield* makeCache<string, string>({
        name: "test",
        ttlMs: 1000,
        maxStaleMs: 1000,
        failureTtlMs: 0,
        capacity: 10,
        timeoutMs: 1000,
        maxBatch: 10,
        lost: (key, why) => `${key} ${why}`,
        fetch: () => Effect.succeed(new Map([["a", Result.succeed("A")]]))
      })
      const r = yield* cache.get(["a", "b"], 100)
      assert.strictEqual(value(r, "a"), "A")
      assert.deepStrictEqual(r.get("b"), { _tag: "Failed", error: "b absent" })
    })
  )

  it.effect("the size is bounded: the least recently used entries go first", () =>
    Effect.gen(function* () {
      const { cache, calls } = yield* makeHarness(ok(10), { capacity: 3 })
      for (const key of ["a", "b", "c"]) yield* getAfter(cache.get([key], 100), 10)
      yield* cache.get(["a"], 100) // a is now the most recently used
      yield* getAfter(cache.get(["d"], 100), 10)
      assert.strictEqual(yield* cache.size, 3)
      const callsBefore = calls.length
      const kept = yield* cache.get(["a", "c", "d"], 100)
      for (const key of ["a", "c", "d"]) assert.strictEqual(tag(kept, key), "Fresh", key)
      assert.strictEqual(calls.length, callsBefore, "a, c, d still cached")
      const evicted = yield* getAfter(cache.get(["b"], 100), 10)
      assert.strictEqual(value(evicted, "b"), `b@${callsBefore + 1}`, "b was evicted and fetched again")
    })
  )

  it.effect("warm starts a fetch without waiting; a later get finds it", () =>
    Effect.gen(function* () {
      const { cache, calls } = yield* makeHarness(ok(200))
      yield* cache.warm(["btc", "eth"])
      assert.strictEqual(calls.length, 1)
      yield* cache.warm(["btc"]) // already in flight: nothing new
      assert.strictEqual(calls.length, 1)
      yield* TestClock.adjust(200)
      const r = yield* cache.get(["btc", "eth"], 0)
      assert.strictEqual(tag(r, "btc"), "Fresh")
      assert.strictEqual(tag(r, "eth"), "Fresh")
      assert.strictEqual(calls.length, 1)
    })
  )
})

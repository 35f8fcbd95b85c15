// The cache in front of the upstream sources (prices, news feeds), keyed by string:
//   - TTL: a value younger than `ttlMs` is fresh and served as is;
//   - stale-while-revalidate: a value older than that but younger than `maxStaleMs` is served at once, marked stale
//     (with its real age, so the prompt can say so), and refreshed in the background;
//   - single-flight: however many callers ask for a key while it is being fetched, there is ONE upstream fetch, and
//     they all wait for it; keys missing at the same moment are fetched together, up to `maxBatch` per fetch (one
//     CoinGecko call for BTC and ETH);
//   - waiting is the caller's choice: `get(keys, waitMs)` waits at most `waitMs` for missing keys and reports the rest
//     as Pending. Fetches run in the cache's own scope, never in the caller's fiber, so a caller that stops waiting
//     (the turn's budget) does not cancel them: the next turn finds the value ready. Each fetch is bounded by
//     `timeoutMs`;
//   - a failed fetch is remembered for `failureTtlMs` (callers get the failure at once instead of a new call on every
//     partial transcript), while a stale value, if any, keeps being served;
//   - a bound on size: at most `capacity` entries, least recently used evicted first (never one being fetched).
// All time comes from Clock, so the whole policy runs under TestClock with an in-memory fetcher.
import { Clock, Deferred, Effect, FiberSet, Option, Result, type Scope } from "effect"

export type Lookup<A, E> =
  | { readonly _tag: "Fresh"; readonly value: A; readonly fetchedAt: number }
  | { readonly _tag: "Stale"; readonly value: A; readonly fetchedAt: number }
  | { readonly _tag: "Failed"; readonly error: E }
  /** Not cached, and the fetch did not finish within the wait. */
  | { readonly _tag: "Pending" }

export type LostReason = "timeout" | "crashed" | "absent"

export interface CacheOptions<A, E> {
  /** For logs: "prices", "news". */
  readonly name: string
  readonly ttlMs: number
  /** Oldest a value may be and still be served (stale); at least `ttlMs`. */
  readonly maxStaleMs: number
  /** How long a failed fetch is not retried for the same key. */
  readonly failureTtlMs: number
  readonly capacity: number
  /** Longest a fetch may take; then its keys fail with `lost(key, "timeout")`. */
  readonly timeoutMs: number
  /** Most keys per fetch call. */
  readonly maxBatch: number
  /** Fetches some keys: one result per key (a key left out fails with `lost(key, "absent")`). Never fails. */
  readonly fetch: (keys: ReadonlyArray<string>) => Effect.Effect<ReadonlyMap<string, Result.Result<A, E>>>
  /** The failure of a key whose fetch timed out, crashed, or did not answer for it. */
  readonly lost: (key: string, why: LostReason) => E
}

export interface SwrCache<A, E> {
  /** A lookup for each key; waits at most `waitMs` for keys with nothing servable. Never fails. */
  readonly get: (keys: ReadonlyArray<string>, waitMs: number) => Effect.Effect<ReadonlyMap<string, Lookup<A, E>>>
  /** Starts fetching the keys that need it, without waiting. Never fails. */
  readonly warm: (keys: ReadonlyArray<string>) => Effect.Effect<void>
  /** Entries held now. */
  readonly size: Effect.Effect<number>
}

interface Entry<A, E> {
  value: { readonly data: A; readonly fetchedAt: number } | undefined
  failure: { readonly error: E; readonly at: number } | undefined
  inflight: Deferred.Deferred<void> | undefined
}

interface Claim<A, E> {
  readonly key: string
  readonly entry: Entry<A, E>
  readonly done: Deferred.Deferred<void>
}

export const makeCache = <A, E>(options: CacheOptions<A, E>): Effect.Effect<SwrCache<A, E>, never, Scope.Scope> =>
  Effect.gen(function* () {
    const fibers = yield* FiberSet.make<void, never>()
    const entries = new Map<string, Entry<A, E>>()

    /** The key's entry (created if new), moved to the most recently used end. */
    const touch = (key: string): Entry<A, E> => {
      const entry = entries.get(key) ?? { value: undefined, failure: undefined, inflight: undefined }
      entries.delete(key)
      entries.set(key, entry)
      return entry
    }

    const evict = () => {
      for (const [key, entry] of entries) {
        if (entries.size <= options.capacity) return
        if (entry.inflight === undefined) entries.delete(key)
      }
    }

    /** What the entry can serve now, if anything; a value past the maximum staleness is dropped. */
    const servable = (entry: Entry<A, E>, now: number): Lookup<A, E> | undefined => {
      if (entry.value === undefined) return undefined
      const age = now - entry.value.fetchedAt
      if (age < options.ttlMs) return { _tag: "Fresh", value: entry.value.data, fetchedAt: entry.value.fetchedAt }
      if (age < options.maxStaleMs) return { _tag: "Stale", value: entry.value.data, fetchedAt: entry.value.fetchedAt }
      entry.value = undefined
      return undefined
    }

    const failedRecently = (entry: Entry<A, E>, now: number) =>
      entry.failure !== undefined && now - entry.failure.at < options.failureTtlMs

    /** Records each claimed key's outcome and wakes its waiters. */
    const settle = (claims: ReadonlyArray<Claim<A, E>>, outcome: (key: string) => Result.Result<A, E>) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.forEach(
          claims,
          (claim) => {
            const result = outcome(claim.key)
            if (Result.isSuccess(result)) {
              claim.entry.value = { data: result.success, fetchedAt: now }
              claim.entry.failure = undefined
            } else {
              claim.entry.failure = { error: result.failure, at: now }
            }
            if (claim.entry.inflight === claim.done) claim.entry.inflight = undefined
            return Deferred.succeed(claim.done, undefined)
          },
          { discard: true }
        )
      )

    /** Wakes waiters of a fetch that ended without settling (its scope closed). */
    const release = (claims: ReadonlyArray<Claim<A, E>>) =>
      Effect.sync(() => {
        for (const claim of claims) {
          if (claim.entry.inflight === claim.done) claim.entry.inflight = undefined
          Deferred.doneUnsafe(claim.done, Effect.void)
        }
      })

    const runFetch = (claims: ReadonlyArray<Claim<A, E>>) => {
      const keys = claims.map((c) => c.key)
      return options.fetch(keys).pipe(
        Effect.timeoutOption(options.timeoutMs),
        Effect.flatMap((answer) =>
          Option.match(answer, {
            onNone: () =>
              Effect.andThen(
                Effect.logWarning("enrichment fetch timed out", { cache: options.name, keys: keys.length }),
                settle(claims, (key) => Result.fail(options.lost(key, "timeout")))
              ),
            onSome: (results) => settle(claims, (key) => results.get(key) ?? Result.fail(options.lost(key, "absent")))
          })
        ),
        Effect.catchDefect((defect) =>
          Effect.andThen(
            Effect.logError("enrichment fetch crashed", { cache: options.name, defect: String(defect) }),
            settle(claims, (key) => Result.fail(options.lost(key, "crashed")))
          )
        ),
        Effect.ensuring(release(claims))
      )
    }

    /** Marks the keys as being fetched and forks their fetches into the cache's scope. */
    const start = (keys: ReadonlyArray<string>) =>
      Effect.gen(function* () {
        for (let i = 0; i < keys.length; i += options.maxBatch) {
          const claims = keys.slice(i, i + options.maxBatch).map((key): Claim<A, E> => {
            const entry = touch(key)
            const done = Deferred.makeUnsafe<void>()
            entry.inflight = done
            return { key, entry, done }
          })
          yield* FiberSet.run(fibers, runFetch(claims))
        }
      })

    const get = (keys: ReadonlyArray<string>, waitMs: number) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const results = new Map<string, Lookup<A, E>>()
        const toFetch: Array<string> = []
        const waiting: Array<{ readonly key: string; readonly entry: Entry<A, E> }> = []
        for (const key of new Set(keys)) {
          const entry = touch(key)
          const hit = servable(entry, now)
          if (hit !== undefined) {
            results.set(key, hit)
            if (hit._tag === "Stale" && entry.inflight === undefined && !failedRecently(entry, now)) toFetch.push(key)
          } else if (entry.inflight === undefined && failedRecently(entry, now)) {
            results.set(key, { _tag: "Failed", error: entry.failure!.error })
          } else {
            if (entry.inflight === undefined) toFetch.push(key)
            waiting.push({ key, entry })
          }
        }
        yield* start(toFetch)
        evict()
        if (waiting.length === 0) return results as ReadonlyMap<string, Lookup<A, E>>
        const pending = waiting.flatMap((w) => (w.entry.inflight === undefined ? [] : [w.entry.inflight]))
        if (waitMs > 0 && pending.length > 0) {
          yield* Effect.timeoutOption(Effect.forEach(pending, Deferred.await, { discard: true }), waitMs)
        }
        const later = yield* Clock.currentTimeMillis
        for (const { key, entry } of waiting) {
          // A value fetched while this caller waited is its answer, however short the TTL.
          const fetched = entry.value !== undefined && entry.value.fetchedAt >= now ? entry.value : undefined
          const hit: Lookup<A, E> | undefined =
            fetched === undefined
              ? servable(entry, later)
              : { _tag: "Fresh", value: fetched.data, fetchedAt: fetched.fetchedAt }
          if (hit !== undefined) results.set(key, hit)
          else if (entry.inflight === undefined && entry.failure !== undefined) {
            results.set(key, { _tag: "Failed", error: entry.failure.error })
          } else results.set(key, { _tag: "Pending" })
        }
        return results as ReadonlyMap<string, Lookup<A, E>>
      })

    return {
      get,
      warm: (keys) => Effect.asVoid(get(keys, 0)),
      size: Effect.sync(() => entries.size)
    }
  })

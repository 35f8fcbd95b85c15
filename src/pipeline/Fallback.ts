// The ordered fallback of a port: the first provider whose circuit is closed is called; when it fails (or hangs: its
// guard turns that into a timeout) before producing anything, the next one is tried. Output already produced is never
// replayed: a failure after it ends the call with that provider's error.
import { Effect, Stream } from "effect"
import type { CircuitBreaker } from "./CircuitBreaker.ts"
import type { PortFailure } from "./PortError.ts"

export interface Candidate<A, E> {
  readonly name: string
  readonly breaker: CircuitBreaker
  /** The provider's call, already under its own resilience guard (timeouts, retries, concurrency). */
  readonly call: () => Stream.Stream<A, E>
}

/**
 * Calls the candidates in order, skipping open circuits (when every circuit is open, all are tried anyway: better a
 * slow answer than none). `onServe` hears which provider produced the output.
 */
export const fallbackStream = <A, E extends PortFailure>(
  candidates: ReadonlyArray<Candidate<A, E>>,
  onServe: (name: string) => Effect.Effect<void> = () => Effect.void
): Stream.Stream<A, E> => {
  /**
   * Tries candidates from `index` on. A circuit is asked only when its provider is next in line, so a later
   * provider's half-open trial is not used up by a call an earlier one serves. `force` ignores the circuits: when
   * every one was open, all are tried anyway rather than failing without a call.
   */
  const attempt = (index: number, tried: boolean, lastError: E | undefined, force: boolean): Stream.Stream<A, E> =>
    Stream.unwrap(
      Effect.gen(function* () {
        if (index >= candidates.length) {
          if (!tried && !force) return attempt(0, false, undefined, true)
          return Stream.fail(lastError!)
        }
        const candidate = candidates[index]!
        if (!force && (yield* candidate.breaker.isOpen)) return attempt(index + 1, tried, lastError, force)
        let started = false
        return candidate.call().pipe(
          Stream.tap(() =>
            started
              ? Effect.void
              : Effect.andThen(
                  Effect.sync(() => {
                    started = true
                  }),
                  Effect.andThen(candidate.breaker.onSuccess, onServe(candidate.name))
                )
          ),
          // An empty answer is a success too; this must sit before the recovery, or the next provider's end would
          // count for this one.
          Stream.onEnd(candidate.breaker.onSuccess),
          Stream.catchIf(
            (_error: E): _error is E => true,
            (error) =>
              Stream.unwrap(
                Effect.gen(function* () {
                  if (started) return Stream.fail(error)
                  yield* candidate.breaker.onFailure
                  if (index + 1 < candidates.length) {
                    yield* Effect.logWarning("provider failed; trying the next", {
                      from: candidate.name,
                      reason: error.reason
                    })
                  }
                  return attempt(index + 1, true, error, force)
                })
              )
          )
        )
      })
    )
  return attempt(0, false, undefined, false)
}

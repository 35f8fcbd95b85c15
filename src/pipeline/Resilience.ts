// The one resilience policy of the pipeline: timeouts (first useful chunk, then idle), retries with
// exponential backoff and jitter for retryable errors only, and a per-port concurrency limit.
// Adapters never retry by themselves; every port call goes through here.
import { Clock, Duration, Effect, Fiber, Queue, Random, Schedule, type Semaphore, Stream } from "effect"
import type { PortPolicy } from "../config/PortPolicy.ts"
import type { PortErrorFactory, PortFailure } from "./PortError.ts"

/** The delay before retry number `attempt` (1, 2, …): base · 2^(attempt−1), scaled by a random 0.8–1.2, capped. */
export const backoffDelay = (policy: Pick<PortPolicy, "retryBaseDelayMs" | "retryMaxDelayMs">, attempt: number) =>
  Effect.map(Random.next, (random) =>
    Duration.millis(
      Math.min(policy.retryMaxDelayMs, policy.retryBaseDelayMs * 2 ** (attempt - 1) * (0.8 + 0.4 * random))
    )
  )

/**
 * Retries for retryable failures only, at most `policy.retries` times, each after `backoffDelay` or the provider's
 * retry-after, whichever is longer.
 */
export const retrySchedule = <E extends PortFailure>(policy: PortPolicy) =>
  Schedule.forever.pipe(
    Schedule.setInputType<E>(),
    Schedule.modifyDelay(({ attempt, input }) =>
      Effect.map(backoffDelay(policy, attempt), (delay) =>
        Duration.max(delay, Duration.millis(input.retryAfterMs ?? 0))
      )
    ),
    Schedule.while(({ input, attempt }) => input.retryable && attempt <= policy.retries)
  )

const timeoutError = <E>(makeError: PortErrorFactory<E>, what: string, ms: number) =>
  makeError({ reason: "timeout", retryable: true, message: `${what} within ${ms} ms` })

/**
 * Guards a streaming call: waits for a permit, fails with a retryable timeout when the first element takes longer
 * than `firstChunkTimeoutMs` or a later one longer than `idleTimeoutMs`, and retries the whole call only while it has
 * produced nothing (output already sent cannot be taken back).
 *
 * The call runs in one fiber that holds the permit, runs each attempt raced against a watchdog that follows its
 * deadline, and hands the output to the consumer through a small queue: the deadline runs only while the provider is
 * waited on, not while a slow consumer holds the output up. A chunk crosses one queue, with no stage of its own in
 * between — where Stream.retry, a permit around the stream and a merge with a watchdog stream each wrapped every pull
 * (and Effect's Stream.timeout races every element).
 */
export const guardStream =
  <E extends PortFailure>(policy: PortPolicy, permits: Semaphore.Semaphore, makeError: PortErrorFactory<E>) =>
  <A>(open: () => Stream.Stream<A, E>): Stream.Stream<A, E> =>
    Stream.callback<A, E>(
      (queue) =>
        Effect.suspend(() => {
          const clock = Fiber.getCurrent()!.getRef(Clock.Clock)
          let started = false
          // While an attempt waits on the provider, the time by which its next element must come.
          let deadline: number | undefined
          // No deadline is ever set closer than this: sleeping at most this long never oversleeps one set meanwhile.
          const step = Math.min(policy.firstChunkTimeoutMs, policy.idleTimeoutMs)
          const watchdog: Effect.Effect<never, E> = Effect.suspend(() => {
            const now = clock.currentTimeMillisUnsafe()
            if (deadline !== undefined && deadline <= now) {
              return Effect.fail(
                started
                  ? timeoutError(makeError, "no further output", policy.idleTimeoutMs)
                  : timeoutError(makeError, "no first output", policy.firstChunkTimeoutMs)
              )
            }
            return Effect.andThen(
              Effect.sleep(deadline === undefined ? step : Math.min(step, deadline - now)),
              watchdog
            )
          })
          const handOn = (elements: ReadonlyArray<A>) => {
            deadline = undefined
            started = true
            return Effect.map(Queue.offerAll(queue, elements), () => {
              deadline = clock.currentTimeMillisUnsafe() + policy.idleTimeoutMs
            })
          }
          const attempt = Effect.suspend(() => {
            deadline = clock.currentTimeMillisUnsafe() + policy.firstChunkTimeoutMs
            return Effect.raceFirst(Stream.runForEachArray(Stream.suspend(open), handOn), watchdog)
          })
          return attempt.pipe(
            Effect.retry(retrySchedule<E>(policy).pipe(Schedule.while(() => !started))),
            permits.withPermits(1),
            Effect.andThen(Queue.end(queue))
          )
        }),
      { bufferSize: 16 }
    )

/** Guards a single-answer call: permit, timeout, retries for retryable failures. */
export const guardEffect =
  <E extends PortFailure>(policy: PortPolicy, permits: Semaphore.Semaphore, makeError: PortErrorFactory<E>) =>
  <A>(call: Effect.Effect<A, E>): Effect.Effect<A, E> =>
    call.pipe(
      Effect.timeoutOrElse({
        duration: Duration.millis(policy.firstChunkTimeoutMs),
        orElse: () => Effect.fail(timeoutError(makeError, "no answer", policy.firstChunkTimeoutMs))
      }),
      Effect.retry(retrySchedule<E>(policy)),
      permits.withPermits(1)
    )

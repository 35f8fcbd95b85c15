// The one resilience policy of the pipeline: timeouts (first useful chunk, then idle), retries with
// exponential backoff and jitter for retryable errors only, and a per-port concurrency limit.
// Adapters never retry by themselves; every port call goes through here.
import { Clock, Duration, Effect, Queue, Random, Schedule, type Semaphore, Stream } from "effect"
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
 * Fails `stream` with a timeout when it takes longer than `firstMs` for its first element or `idleMs` for a later
 * one. The stream runs in one fiber that hands its chunks to the consumer through a small queue, and one watchdog
 * fiber follows the deadline, which runs only while the stream is waited on (not while a slow consumer holds it up):
 * two fibers per call, and a chunk crosses once — where a merge with a watchdog stream cost several fibers and
 * stages per call (Effect's Stream.timeout is a race per element).
 */
const withPullDeadlines = <A, E>(
  stream: Stream.Stream<A, E>,
  firstMs: number,
  idleMs: number,
  onFirst: () => void,
  timedOut: (started: boolean) => E
): Stream.Stream<A, E> =>
  Stream.callback<A, E>(
    (queue) =>
      Effect.flatMap(Clock.clockWith(Effect.succeed), (clock) => {
        let started = false
        // The time by which the next element must come; undefined while a chunk is being handed on.
        let deadline: number | undefined = clock.currentTimeMillisUnsafe() + firstMs
        // No deadline is ever set closer than this: sleeping at most this long never oversleeps one set meanwhile.
        const step = Math.min(firstMs, idleMs)
        const watch: Effect.Effect<void> = Effect.suspend(() => {
          const now = clock.currentTimeMillisUnsafe()
          if (deadline !== undefined && deadline <= now) return Queue.fail(queue, timedOut(started))
          return Effect.andThen(Effect.sleep(deadline === undefined ? step : Math.min(step, deadline - now)), watch)
        })
        const handOn = (elements: ReadonlyArray<A>) => {
          deadline = undefined
          if (!started) {
            started = true
            onFirst()
          }
          return Effect.map(Queue.offerAll(queue, elements), () => {
            deadline = clock.currentTimeMillisUnsafe() + idleMs
          })
        }
        return Effect.forkScoped(watch).pipe(
          Effect.andThen(Stream.runForEachArray(stream, handOn)),
          Effect.andThen(Queue.end(queue))
        )
      }),
    { bufferSize: 16 }
  )

/**
 * Guards a streaming call: waits for a permit, fails with a retryable timeout when the first element takes longer
 * than `firstChunkTimeoutMs` or a later one longer than `idleTimeoutMs`, and retries the whole call only while it has
 * produced nothing (output already sent cannot be taken back).
 */
export const guardStream =
  <E extends PortFailure>(policy: PortPolicy, permits: Semaphore.Semaphore, makeError: PortErrorFactory<E>) =>
  <A>(open: () => Stream.Stream<A, E>): Stream.Stream<A, E> =>
    Stream.suspend(() => {
      let started = false
      const attempt: Stream.Stream<A, E> = withPullDeadlines(
        Stream.suspend(open),
        policy.firstChunkTimeoutMs,
        policy.idleTimeoutMs,
        () => {
          started = true
        },
        (hadOutput) =>
          hadOutput
            ? timeoutError(makeError, "no further output", policy.idleTimeoutMs)
            : timeoutError(makeError, "no first output", policy.firstChunkTimeoutMs)
      )
      const retried = attempt.pipe(Stream.retry(retrySchedule<E>(policy).pipe(Schedule.while(() => !started))))
      const permit = Effect.acquireRelease(permits.take(1), () => permits.release(1))
      return Stream.unwrap(Effect.as(permit, retried))
    })

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

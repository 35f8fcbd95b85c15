// The one resilience policy of the pipeline: timeouts (first useful chunk, then idle), retries with
// exponential backoff and jitter for retryable errors only, and a per-port concurrency limit.
// Adapters never retry by themselves; every port call goes through here.
import { Clock, Duration, Effect, Fiber, Latch, Random, Schedule, type Semaphore, Stream } from "effect"
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
 * Fails `stream` with a timeout when a pull waits longer than `firstMs` for its first element or `idleMs` for a later
 * one. One watchdog fiber per stream follows a deadline that each pull moves (like Effect's Stream.timeout), instead
 * of a timer and two fibers per element.
 */
const withPullDeadlines = <A, E>(
  stream: Stream.Stream<A, E>,
  firstMs: number,
  idleMs: number,
  onFirst: () => void,
  timedOut: (started: boolean) => E
): Stream.Stream<A, E> =>
  Stream.suspend(() => {
    const clock = Fiber.getCurrent()!.getRef(Clock.Clock)
    let started = false
    let deadline: number | undefined
    const pulling = Latch.makeUnsafe(false)
    // No deadline is ever set closer than this: sleeping at most this long never oversleeps a deadline set meanwhile.
    const step = Math.min(firstMs, idleMs)
    // The first deadline runs from the call, the next ones from each element.
    deadline = clock.currentTimeMillisUnsafe() + firstMs
    pulling.openUnsafe()
    const guarded = Stream.transformPull(stream, (pull) =>
      Effect.succeed(
        Effect.suspend(() => {
          if (deadline === undefined) {
            deadline = clock.currentTimeMillisUnsafe() + (started ? idleMs : firstMs)
            pulling.openUnsafe()
          }
          return pull
        }).pipe(
          Effect.map((chunk) => {
            pulling.closeUnsafe()
            deadline = undefined
            if (!started) {
              started = true
              onFirst()
            }
            return chunk
          })
        )
      )
    )
    const watchdog = Stream.fromEffectDrain(
      Effect.gen(function* () {
        while (true) {
          yield* pulling.await
          if (deadline === undefined) continue
          yield* Effect.sleep(Math.min(step, deadline - clock.currentTimeMillisUnsafe()))
          if (deadline === undefined || deadline > clock.currentTimeMillisUnsafe()) continue
          return yield* Effect.fail(timedOut(started))
        }
      })
    )
    return Stream.merge(guarded, watchdog, { haltStrategy: "left" })
  })

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

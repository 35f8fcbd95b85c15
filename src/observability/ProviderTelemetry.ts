// Provider calls, traced and counted for quota tracking: each guarded call of one provider is a `<kind>.provider`
// span (provider, model, attempts, time to first output, usage, outcome); every attempt counts as a request (each
// one is billed), a call that fails after its retries counts as an error by reason, and usage (tokens, characters,
// audio seconds) goes to the voice_stream_provider_* counters labelled by provider and kind.
import { Channel, Clock, Effect, Fiber, Metric, Stream } from "effect"
import { PortFailureReason } from "../pipeline/PortError.ts"
import * as M from "./Metrics.ts"
import { type Attributes, outcomeOf, SpanOptions, traceStream } from "./Spans.ts"

export type ProviderKind = "stt" | "llm" | "tts" | "enrichment"

/** Wraps one attempt of a call, so it is counted as a request. */
export type Attempt = <A, E, R>(call: Stream.Stream<A, E, R>) => Stream.Stream<A, E, R>

/** Usage a kind of provider reports, by counter. */
const UsageCounters: Readonly<Record<ProviderKind, ReadonlyArray<Metric.Counter<number>>>> = {
  stt: [M.providerAudioSeconds],
  llm: [M.providerInputTokens, M.providerOutputTokens],
  tts: [M.providerCharacters],
  enrichment: []
}

/** `stream`, with `effect` run each time it opens (at the open, not on every pull as Stream.unwrap's wrapper is). */
const beforeOpening = <A, E, R>(effect: Effect.Effect<void>, stream: Stream.Stream<A, E, R>): Stream.Stream<A, E, R> =>
  Stream.fromChannel(
    Channel.fromTransform((upstream, scope) =>
      Effect.andThen(effect, Channel.toTransform(stream.channel)(upstream, scope))
    )
  ) as Stream.Stream<A, E, R>

const reasonOf = (error: unknown) =>
  typeof error === "object" && error !== null && "reason" in error ? String(error.reason) : "unknown"

export const providerCalls = (kind: ProviderKind, provider: string, attributes: Attributes = {}) => {
  const labels = { provider, kind }
  const series = (metric: Metric.Counter<number>) => Metric.withAttributes(metric, labels)
  const requests = series(M.providerRequests)
  const errorSeries = (reason: string) => Metric.withAttributes(M.providerErrors, { ...labels, reason })
  /** Adds `amount` of usage to `metric` for this provider. */
  const usage = (metric: Metric.Counter<number>, amount: number) =>
    amount > 0 ? Metric.update(series(metric), amount) : Effect.void

  /** Registers this provider's series at 0, so alert expressions find them before the first call. */
  const register = Effect.gen(function* () {
    yield* Metric.value(requests)
    for (const reason of PortFailureReason.literals) yield* Metric.value(errorSeries(reason))
    for (const metric of UsageCounters[kind]) yield* Metric.value(series(metric))
  })

  /**
   * One call: `run` gets the function that marks each attempt (retries call it again), `perAttempt` is usage billed
   * per attempt, `perChunk` reads usage off each chunk of output into `tally` (span attributes and counters). Output
   * is observed a chunk (array) at a time, so a burst of elements costs one step, not one per element.
   */
  const stream = <A, E, R>(
    run: (attempt: Attempt) => Stream.Stream<A, E, R>,
    options: {
      readonly perAttempt?: Effect.Effect<void>
      readonly perChunk?: (elements: ReadonlyArray<A>, tally: Record<string, number>) => Effect.Effect<void>
    } = {}
  ): Stream.Stream<A, E, R> =>
    Stream.suspend(() => {
      let attempts = 0
      let firstOutputMs: number | undefined
      const tally: Record<string, number> = {}
      const clock = Fiber.getCurrent()!.getRef(Clock.Clock)
      const startedAt = clock.currentTimeMillisUnsafe()
      const countAttempt = Effect.suspend(() => {
        attempts++
        return Metric.update(requests, 1)
      }).pipe(Effect.andThen(options.perAttempt ?? Effect.void))
      const attempt: Attempt = (call) => beforeOpening(countAttempt, call)
      const { perChunk } = options
      return traceStream(
        `${kind}.provider`,
        { provider, ...attributes },
        run(attempt),
        (exit) => ({ outcome: outcomeOf(exit, reasonOf), attempts, first_output_ms: firstOutputMs, ...tally }),
        {
          onChunk: (elements) => {
            if (firstOutputMs === undefined) firstOutputMs = clock.currentTimeMillisUnsafe() - startedAt
            return perChunk === undefined ? Effect.void : perChunk(elements, tally)
          },
          onEnd: (exit) =>
            exit._tag === "Failure" && outcomeOf(exit) === "error"
              ? Metric.update(errorSeries(outcomeOf(exit, reasonOf)), 1)
              : Effect.void
        }
      )
    })

  /** A single-answer call (enrichment), the same way. */
  const effect = <A, E, R>(
    run: (attempt: <X, XE, XR>(call: Effect.Effect<X, XE, XR>) => Effect.Effect<X, XE, XR>) => Effect.Effect<A, E, R>
  ) =>
    Effect.withSpan(
      Effect.gen(function* () {
        let attempts = 0
        const attempt = <X, XE, XR>(call: Effect.Effect<X, XE, XR>) =>
          Effect.sync(() => {
            attempts++
          }).pipe(Effect.andThen(Metric.update(requests, 1)), Effect.andThen(call))
        return yield* run(attempt).pipe(
          Effect.onExit((exit) =>
            Effect.andThen(
              Effect.annotateCurrentSpan({ outcome: outcomeOf(exit, reasonOf), attempts }),
              exit._tag === "Failure" && outcomeOf(exit) === "error"
                ? Metric.update(errorSeries(outcomeOf(exit, reasonOf)), 1)
                : Effect.void
            )
          )
        )
      }),
      `${kind}.provider`,
      { ...SpanOptions, attributes: { provider, ...attributes } }
    )

  return { register, stream, effect, usage, series }
}

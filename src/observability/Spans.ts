// Span helpers for work that Effect.withSpan cannot wrap as it is: a span that began in the past (a turn begins at the
// end of speech), an interval recorded after the fact (the wait for the final transcript), a span around a stream whose
// attributes are known only when it ends, and a span opened by the first of several stream elements.
// Attributes are ids, counts, durations and provider names only: never transcript, prompt or reply text.
import {
  type Array as Arr,
  Channel,
  Clock,
  Context,
  Effect,
  Exit,
  Option,
  type Pull,
  References,
  Scope,
  Stream,
  Tracer
} from "effect"

export type Attributes = Readonly<Record<string, string | number | boolean | undefined>>

/**
 * Options for every span the server opens with Effect.withSpan: no stack trace. Effect otherwise makes an `Error` (a
 * captured stack) per span to record where it was opened, per provider call and turn; span names already say where,
 * and the error objects live as long as their spans (docs/benchmarks.md, third round). Only the data-first form
 * `Effect.withSpan(effect, name, options)` honours it in effect 4.1: the piped form captures a stack whatever the
 * options say. (Effect.makeSpan, used below, captures none.)
 */
export const SpanOptions = { captureStackTrace: false } as const

const toNanos = (ms: number) => BigInt(Math.round(ms)) * 1_000_000n

const setAttributes = (span: Tracer.Span, attributes: Attributes) => {
  for (const [key, value] of Object.entries(attributes)) if (value !== undefined) span.attribute(key, value)
}

/** A child of the current span that started at `startMs` (Clock milliseconds); end it with `endSpan`. */
export const startSpanAt = (name: string, startMs: number, attributes: Attributes) =>
  Effect.gen(function* () {
    if (!(yield* References.TracerEnabled)) return yield* Effect.makeSpan(name)
    const tracer = yield* Tracer.Tracer
    const parent = yield* Effect.serviceOption(Tracer.ParentSpan)
    const span = tracer.span({
      name,
      parent,
      annotations: Context.empty(),
      links: [],
      startTime: toNanos(startMs),
      kind: "internal",
      root: false,
      sampled: Option.match(parent, { onNone: () => true, onSome: (p) => p.sampled })
    })
    setAttributes(span, attributes)
    return span
  })

/** Ends `span` now, with `attributes` added first. */
export const endSpan = (span: Tracer.Span, exit: Exit.Exit<unknown, unknown>, attributes: Attributes = {}) =>
  Effect.map(Clock.currentTimeNanos, (now) => {
    setAttributes(span, attributes)
    span.end(now, exit)
  })

/** Records a finished interval as a child of the current span. */
export const recordSpan = (name: string, startMs: number, endMs: number, attributes: Attributes) =>
  Effect.map(startSpanAt(name, startMs, attributes), (span) => span.end(toNanos(endMs), Exit.void))

/**
 * Opens `stream` with `span` as its parent span and returns its pull, each pull switched to that same context: the
 * context with the span is made once, where Stream.provideService(Tracer.ParentSpan, span) made a new context (and
 * its cache) for every element — per LLM token and per audio chunk.
 */
const openInSpan = <A, E, R>(
  stream: Stream.Stream<A, E, R>,
  span: Tracer.Span,
  upstream: Pull.Pull<unknown, unknown, unknown>,
  scope: Scope.Scope
) =>
  Effect.contextWith((base: Context.Context<R>) => {
    const withSpan = Context.add(base, Tracer.ParentSpan, span) as Context.Context<R>
    const inSpan = () => withSpan
    return Effect.map(Effect.updateContext(Channel.toTransform(stream.channel)(upstream, scope), inSpan), (pull) =>
      Effect.updateContext(pull, inSpan)
    )
  })

/** `stream` with `span` as its parent span, like Stream.provideService(Tracer.ParentSpan, span) but cheaper. */
export const withParentSpan = <A, E, R>(stream: Stream.Stream<A, E, R>, span: Tracer.Span): Stream.Stream<A, E, R> =>
  Stream.fromChannel(
    Channel.fromTransform((upstream, scope) => openInSpan(stream, span, upstream, scope))
  ) as Stream.Stream<A, E, R>

/** What a traced stream may also do, in the same stage: observe each chunk of output, and act when it ends. */
export interface TraceOptions<A, E> {
  readonly onChunk?: (elements: Arr.NonEmptyReadonlyArray<A>) => Effect.Effect<void>
  readonly onEnd?: (exit: Exit.Exit<unknown, E>) => Effect.Effect<void>
}

/**
 * Runs `stream` in a span named `name`, made when the stream opens, as the parent of what the stream does; `final`
 * adds the attributes known when it ends (counts, outcome). One stream stage, whatever `options` add: a stage costs
 * a wrapper on every pull, and a provider call's output (LLM tokens, audio chunks) goes through it chunk by chunk.
 */
export const traceStream = <A, E, R>(
  name: string,
  attributes: Attributes,
  stream: Stream.Stream<A, E, R>,
  final: (exit: Exit.Exit<unknown, E>) => Attributes,
  options: TraceOptions<A, E> = {}
): Stream.Stream<A, E, R> =>
  Stream.fromChannel(
    Channel.fromTransformBracket((upstream, scope, forkedScope) =>
      Effect.flatMap(Effect.makeSpan(name), (span) => {
        setAttributes(span, attributes)
        const ended = (exit: Exit.Exit<unknown, unknown>) => {
          const streamExit = exit as Exit.Exit<unknown, E>
          const end = endSpan(span, exit, final(streamExit))
          return options.onEnd === undefined ? end : Effect.andThen(end, options.onEnd(streamExit))
        }
        const { onChunk } = options
        return Scope.addFinalizerExit(forkedScope, ended).pipe(
          Effect.andThen(openInSpan(stream, span, upstream, scope)),
          Effect.map((pull) =>
            onChunk === undefined ? pull : Effect.flatMap(pull, (elements) => Effect.as(onChunk(elements), elements))
          )
        )
      })
    )
  ) as Stream.Stream<A, E, R>

/**
 * A span opened by `start` (the first call wins) in the calling fiber's current span, made the parent of the streams
 * passed to `within`, and closed by `end`. Nothing is recorded if `start` never ran.
 */
export const lazySpan = (name: string, attributes: Attributes) => {
  let span: Tracer.Span | undefined
  return {
    start: Effect.suspend(() =>
      span !== undefined
        ? Effect.void
        : Effect.map(Effect.makeSpan(name), (made) => {
            setAttributes(made, attributes)
            span = made
          })
    ),
    within: <A, E, R>(stream: Stream.Stream<A, E, R>): Stream.Stream<A, E, R> =>
      Stream.suspend(() => (span === undefined ? stream : withParentSpan(stream, span))),
    end: (exit: Exit.Exit<unknown, unknown>, final: () => Attributes) =>
      Effect.suspend(() => (span === undefined ? Effect.void : endSpan(span, exit, final())))
  }
}

/** The outcome attribute of a span or a metric from how the work ended. */
export const outcomeOf = (exit: Exit.Exit<unknown, unknown>, reason?: (error: unknown) => string) =>
  Exit.isSuccess(exit)
    ? "ok"
    : Exit.hasInterrupts(exit)
      ? "cancelled"
      : reason === undefined
        ? "error"
        : Option.match(Exit.findErrorOption(exit), { onNone: () => "error", onSome: reason })

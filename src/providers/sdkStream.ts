// Opens a provider SDK call as an Effect Stream whose HTTP request is aborted whenever the stream stops early: an
// AbortController tied to the stream's scope is passed to the SDK, so interruption (a cancelled reply, a timeout of
// the resilience policy) closes the connection instead of leaving it to finish in the background.
import { Effect, identity, Stream } from "effect"

/** An AbortSignal that fires when the current scope closes, whatever the reason. */
export const scopedAbortSignal = Effect.map(
  Effect.acquireRelease(
    Effect.sync(() => new AbortController()),
    (controller) => Effect.sync(() => controller.abort())
  ),
  (controller) => controller.signal
)

const openIterable = Effect.fnUntraced(function* <A>(open: (signal: AbortSignal) => PromiseLike<AsyncIterable<A>>) {
  const signal = yield* scopedAbortSignal
  const iterable = yield* Effect.tryPromise({ try: () => open(signal), catch: identity })
  return Stream.fromAsyncIterable(iterable, identity)
})

const openBody = Effect.fnUntraced(function* (
  open: (signal: AbortSignal) => PromiseLike<Response>,
  onMissingBody: () => unknown
) {
  const signal = yield* scopedAbortSignal
  const response = yield* Effect.tryPromise({ try: () => open(signal), catch: identity })
  const body = response.body
  if (body === null) return yield* Effect.fail(onMissingBody())
  return Stream.fromReadableStream({ evaluate: () => body, onError: identity })
})

/** An SDK call returning an async iterable (an SSE stream): raw SDK errors stay in the error channel, unclassified. */
export const fromSdkIterable = <A>(
  open: (signal: AbortSignal) => PromiseLike<AsyncIterable<A>>
): Stream.Stream<A, unknown> => Stream.unwrap(openIterable(open))

/** An SDK call returning a fetch Response (binary audio): its body as byte chunks, as they arrive. */
export const fromSdkResponseBody = (
  open: (signal: AbortSignal) => PromiseLike<Response>,
  onMissingBody: () => unknown
): Stream.Stream<Uint8Array, unknown> => Stream.unwrap(openBody(open, onMissingBody))

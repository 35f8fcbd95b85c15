// Opens Deepgram's live transcription WebSocket through the SDK (its reconnects off) and hands it to Effect code as a
// queue of events plus send functions (synchronous ones too, for audio sent as it arrives) and the size of its
// outgoing buffer; the socket is closed when the caller's Scope closes. No SDK type leaves here.
//
// SDK facts this relies on (checked on @deepgram/sdk 5.13): `on(event, cb)` replaces the previous handler, so each
// event gets exactly one handler, registered once; an error is dispatched right AFTER a synthetic close 1000 (a
// rejected handshake: close, then "Unexpected server response: 401"), so a close is queued one microtask later and
// the error wins; a dropped connection is a close 1006 with no error; a text message that is not JSON arrives as
// the raw string; `close()` fires the close handler synchronously, which is detached first; `socket.bufferedAmount`
// is the ws socket's bufferedAmount (bytes not yet written to the network) plus the SDK's own queue of messages sent
// before the socket opened (empty here: nothing is sent before it opens).
import { Deferred, Effect, Queue, type Scope } from "effect"
import type { DeepgramSettings } from "../../config/ProviderSettings.ts"
import type { AudioFormat } from "../../domain/Audio.ts"
import { SpanOptions } from "../../observability/Spans.ts"
import type { PortFailure } from "../../pipeline/PortError.ts"
import { SttError } from "../../pipeline/Stt.ts"
import { makeDeepgramClient } from "./client.ts"
import { classifySocketError } from "./errors.ts"

export type ListenControl = "KeepAlive" | "Finalize" | "CloseStream"

/** What the socket reports after it opened: server messages, then at most one Closed or Failed. */
export type ListenEvent =
  | { readonly _tag: "Message"; readonly data: unknown }
  | { readonly _tag: "Closed"; readonly code: number }
  | { readonly _tag: "Failed"; readonly failure: PortFailure }

export interface ListenSocket {
  readonly events: Queue.Dequeue<ListenEvent>
  /** Sends audio or a control message at once; returns the error instead of throwing when the socket is not open. */
  readonly sendNow: (message: Uint8Array | ListenControl) => SttError | undefined
  readonly send: (control: ListenControl) => Effect.Effect<void, SttError>
  /** Bytes handed to the socket that have not reached the network yet (the WebSocket's bufferedAmount). */
  readonly bufferedBytes: () => number
}

const notOpen = new SttError({
  reason: "unavailable",
  retryable: true,
  message: "Deepgram speech recognition connection is not open"
})

/** Connects and waits for the socket to open (at most `connectTimeoutMs`); fails with the handshake's error. */
const openUntraced = Effect.fnUntraced(function* (
  settings: DeepgramSettings,
  format: AudioFormat,
  connectTimeoutMs: number
): Effect.fn.Return<ListenSocket, SttError, Scope.Scope> {
  const client = yield* makeDeepgramClient(settings, "speech recognition", connectTimeoutMs).pipe(
    Effect.mapError((failure) => new SttError(failure))
  )
  const events = yield* Queue.unbounded<ListenEvent>()
  const opened = yield* Deferred.make<void, SttError>()
  let open = false
  let detached = false
  const report = (event: ListenEvent) => {
    if (!detached) Queue.offerUnsafe(events, event)
  }
  const refuse = (failure: PortFailure) => Deferred.doneUnsafe(opened, Effect.fail(new SttError(failure)))

  const socket = yield* Effect.acquireRelease(
    Effect.tryPromise({
      try: () =>
        client.listen.v1.connect({
          model: settings.sttModel,
          encoding: "linear16",
          sample_rate: format.sampleRate,
          channels: 1,
          interim_results: "true",
          endpointing: 300,
          utterance_end_ms: 1000,
          vad_events: "true",
          smart_format: "true",
          punctuate: "true",
          reconnectAttempts: 0,
          shouldReconnect: () => false,
          connectionTimeoutInSeconds: connectTimeoutMs / 1000
        }),
      catch: () =>
        new SttError({
          reason: "unavailable",
          retryable: true,
          message: "Deepgram speech recognition connection could not be set up"
        })
    }),
    (socket) =>
      Effect.sync(() => {
        detached = true
        try {
          socket.close()
        } catch {
          // already closed
        }
      })
  )

  socket.on("open", () => {
    open = true
    Deferred.doneUnsafe(opened, Effect.void)
  })
  socket.on("message", (data: unknown) => report({ _tag: "Message", data }))
  socket.on("close", (event) =>
    queueMicrotask(() => {
      if (open) return report({ _tag: "Closed", code: event.code })
      refuse({
        reason: "unavailable",
        retryable: true,
        message: "Deepgram speech recognition closed the connection while opening it"
      })
    })
  )
  socket.on("error", (error) => {
    const failure = classifySocketError("speech recognition", error.message)
    if (open) report({ _tag: "Failed", failure })
    else refuse(failure)
  })
  socket.connect()

  yield* Deferred.await(opened).pipe(
    Effect.timeoutOrElse({
      duration: connectTimeoutMs,
      orElse: () =>
        Effect.fail(
          new SttError({
            reason: "timeout",
            retryable: true,
            message: "Deepgram speech recognition did not connect in time"
          })
        )
    })
  )

  const sendNow = (message: Uint8Array | ListenControl): SttError | undefined => {
    try {
      switch (message) {
        case "KeepAlive":
          socket.sendKeepAlive({ type: "KeepAlive" })
          break
        case "Finalize":
          socket.sendFinalize({ type: "Finalize" })
          break
        case "CloseStream":
          socket.sendCloseStream({ type: "CloseStream" })
          break
        default:
          socket.sendMedia(message)
      }
      return undefined
    } catch {
      return notOpen
    }
  }
  return {
    events,
    sendNow,
    send: (control) =>
      Effect.suspend(() => {
        const error = sendNow(control)
        return error === undefined ? Effect.void : Effect.fail(error)
      }),
    bufferedBytes: () => socket.socket.bufferedAmount
  }
})
export const openListenSocket = (...args: Parameters<typeof openUntraced>) =>
  Effect.withSpan(openUntraced(...args), "DeepgramStt.connect", SpanOptions)

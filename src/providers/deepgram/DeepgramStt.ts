// Deepgram live speech-to-text: one listen WebSocket per transcribe call, alive as long as its input. Audio frames go
// out as they come, KeepAlive during silence, Finalize on a Commit, CloseStream when the input ends (the stream then
// ends at the server's close). Server messages become the port's events (see Utterances.ts). A connection that
// closes or fails unexpectedly, or a message that cannot be read, fails the stream with a retryable SttError; the
// Session restarts it. Raw adapter: the SDK never reconnects, the server's policy decides.
import { type Cause, Clock, Effect, Fiber, FiberHandle, Layer, Option, Queue, Result, type Scope, Stream } from "effect"
import type { DeepgramSettings } from "../../config/ProviderSettings.ts"
import { type AudioFormat, durationMs } from "../../domain/Audio.ts"
import { Stt, SttError, type SttEvent, type SttInput } from "../../pipeline/Stt.ts"
import { AudioClock } from "./AudioClock.ts"
import { type ListenSocket, openListenSocket } from "./ListenSocket.ts"
import { decodeListenMessage } from "./messages.ts"
import { Utterances } from "./Utterances.ts"

export interface DeepgramSttOptions {
  /** Bound on the WebSocket handshake. */
  readonly connectTimeoutMs: number
  /** A KeepAlive after this long without audio (default 3000; Deepgram closes a stream idle for ~10 s). */
  readonly keepAliveMs?: number
  /** A Commit's Finalize unanswered this long ends the utterance with what is known (default 2000). */
  readonly finalizeTimeoutMs?: number
  /** After CloseStream, the server's close is awaited this long before the stream ends anyway (default 5000). */
  readonly closeTimeoutMs?: number
}

/** A close the adapter did not ask for: Deepgram's 1008 means the request or its audio was refused. */
const unexpectedClose = (code: number) =>
  new SttError(
    code === 1008
      ? { reason: "bad_request", retryable: false, message: "Deepgram speech recognition refused the stream (1008)" }
      : {
          reason: "unavailable",
          retryable: true,
          message: `Deepgram speech recognition closed the connection (${code})`
        }
  )

/** One open connection: the reader of server messages, the KeepAlive timer and the writer of the input. */
const runListen = (
  socket: ListenSocket,
  out: Queue.Queue<SttEvent, SttError | Cause.Done>,
  input: Stream.Stream<SttInput>,
  format: AudioFormat,
  options: Required<DeepgramSttOptions>
): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function* () {
    const utterances = new Utterances()
    const audioClock = new AudioClock()
    const finalizeTimer = yield* FiberHandle.make<void>()
    let lastSentAt = yield* Clock.currentTimeMillis
    let inputEnded = false

    /** Finals are dated with the moment their speech ended: when the audio of its last word was sent. */
    const dated = (events: ReadonlyArray<SttEvent>) =>
      events.map((event) => {
        if (event._tag !== "Final" || utterances.lastEndAudioMs === undefined) return event
        const at = audioClock.timeOf(utterances.lastEndAudioMs)
        return at === undefined ? event : { ...event, speechEndedAt: at }
      })
    const emit = (events: ReadonlyArray<SttEvent>) =>
      events.length === 0 ? Effect.void : Queue.offerAll(out, dated(events))
    const fail = (error: SttError) => Queue.fail(out, error)
    const finish = Effect.suspend(() => emit(utterances.onClose())).pipe(Effect.andThen(Queue.end(out)))

    const onEvent = Effect.fnUntraced(function* (): Effect.fn.Return<boolean> {
      const event = yield* Queue.take(socket.events)
      switch (event._tag) {
        case "Message": {
          const message = decodeListenMessage(event.data)
          if (Result.isFailure(message)) {
            yield* fail(
              new SttError({
                reason: "protocol",
                retryable: true,
                message: `Deepgram speech recognition sent ${message.failure}`
              })
            )
            return false
          }
          const awaited = utterances.awaitingFinalize
          yield* emit(utterances.onMessage(message.success))
          if (awaited && !utterances.awaitingFinalize) yield* FiberHandle.clear(finalizeTimer)
          return true
        }
        case "Closed":
          if (inputEnded && event.code === 1000) yield* finish
          else yield* fail(unexpectedClose(event.code))
          return false
        case "Failed":
          yield* fail(new SttError(event.failure))
          return false
      }
    })
    const readLoop: Effect.Effect<void> = Effect.flatMap(onEvent(), (more) => (more ? readLoop : Effect.void))
    const readerFiber = yield* Effect.forkScoped(readLoop)
    /** A send fails when the socket is gone: the reader's report of why (its close code, its error) goes first. */
    const failAfterReader = (error: SttError) =>
      Effect.timeoutOption(Fiber.join(readerFiber), 1000).pipe(Effect.andThen(fail(error)))

    const now = Clock.currentTimeMillis
    const keepAlive: Effect.Effect<void> = Effect.gen(function* () {
      const wait = lastSentAt + options.keepAliveMs - (yield* now)
      if (wait > 0) return yield* Effect.sleep(wait)
      yield* socket.send("KeepAlive")
      lastSentAt = yield* now
    }).pipe(
      Effect.forever,
      Effect.catch((error) => failAfterReader(error))
    )
    const keepAliveFiber = yield* Effect.forkScoped(keepAlive)

    const onInput = (item: SttInput) =>
      Effect.gen(function* () {
        if (item._tag === "Audio") {
          yield* socket.sendAudio(item.pcm)
          lastSentAt = yield* now
          audioClock.sent(durationMs(format, item.pcm.byteLength), lastSentAt)
          return
        }
        const awaiting = utterances.onCommit()
        yield* socket.send("Finalize")
        if (awaiting) {
          yield* FiberHandle.run(
            finalizeTimer,
            Effect.sleep(options.finalizeTimeoutMs).pipe(
              Effect.andThen(Effect.suspend(() => emit(utterances.onFinalizeTimeout())))
            )
          )
        }
      })

    const writer = Effect.gen(function* () {
      yield* Stream.runForEach(input, onInput)
      inputEnded = true
      yield* Fiber.interrupt(keepAliveFiber)
      yield* socket.send("CloseStream")
      const closed = yield* Effect.timeoutOption(Fiber.join(readerFiber), options.closeTimeoutMs)
      if (Option.isNone(closed)) yield* finish
    })
    yield* writer.pipe(Effect.catch(failAfterReader))
  })

export const makeDeepgramStt = (settings: DeepgramSettings, options: DeepgramSttOptions): Stt["Service"] => {
  const resolved: Required<DeepgramSttOptions> = {
    connectTimeoutMs: options.connectTimeoutMs,
    keepAliveMs: options.keepAliveMs ?? 3000,
    finalizeTimeoutMs: options.finalizeTimeoutMs ?? 2000,
    closeTimeoutMs: options.closeTimeoutMs ?? 5000
  }
  return {
    provider: "deepgram",
    transcribe: (input: Stream.Stream<SttInput>, format: AudioFormat) =>
      Stream.callback<SttEvent, SttError>((out) =>
        Effect.flatMap(openListenSocket(settings, format, resolved.connectTimeoutMs), (socket) =>
          runListen(socket, out, input, format, resolved)
        )
      )
  }
}

export const layer = (settings: DeepgramSettings, options: DeepgramSttOptions) =>
  Layer.succeed(Stt, makeDeepgramStt(settings, options))

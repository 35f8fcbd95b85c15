// Deepgram live speech-to-text: one listen WebSocket per transcribe call, alive as long as its input. Once the socket
// is open the adapter attaches to the input in the push form: audio frames are sent synchronously as they arrive
// (those that waited during the handshake first), and refused while the socket's outgoing buffer holds more than the
// STT input's worth of audio (a stalled connection drops audio with a notice instead of growing). KeepAlive during
// silence, Finalize on a Commit, CloseStream when the input ends (the stream then ends at the server's close). Server
// messages become the port's events (see Utterances.ts). A connection that closes or fails unexpectedly, a send that
// fails, or a message that cannot be read, fails the stream with a retryable SttError; the Session restarts it. Raw
// adapter: the SDK never reconnects, the server's policy decides.
import {
  type Cause,
  Clock,
  Deferred,
  Effect,
  Fiber,
  FiberHandle,
  Layer,
  Option,
  Queue,
  Result,
  type Scope,
  Stream
} from "effect"
import type { DeepgramSettings } from "../../config/ProviderSettings.ts"
import { type AudioFormat, bytesPerMs, durationMs } from "../../domain/Audio.ts"
import { Stt, type SttAudio, SttError, type SttEvent, type SttInput, SttInputCapacity } from "../../pipeline/Stt.ts"
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

/** Audio the socket may hold unsent before more is refused: the STT input's capacity in 20 ms frames, in bytes. */
export const maxBufferedAudioBytes = (format: AudioFormat): number => SttInputCapacity * 20 * bytesPerMs(format)

/** One open connection: the reader of server messages, the KeepAlive timer and the writer of the input. */
const runListen = (
  socket: ListenSocket,
  out: Queue.Queue<SttEvent, SttError | Cause.Done>,
  audio: SttAudio,
  format: AudioFormat,
  options: Required<DeepgramSttOptions>
): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function* () {
    const utterances = new Utterances()
    const audioClock = new AudioClock()
    const finalizeTimer = yield* FiberHandle.make<void>()
    const clock = yield* Clock.Clock
    let lastSentAt = clock.currentTimeMillisUnsafe()
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

    const keepAlive: Effect.Effect<void> = Effect.gen(function* () {
      const wait = lastSentAt + options.keepAliveMs - clock.currentTimeMillisUnsafe()
      if (wait > 0) return yield* Effect.sleep(wait)
      yield* socket.send("KeepAlive")
      lastSentAt = clock.currentTimeMillisUnsafe()
    }).pipe(
      Effect.forever,
      Effect.catch((error) => failAfterReader(error))
    )
    const keepAliveFiber = yield* Effect.forkScoped(keepAlive)

    // The writer's side runs synchronously inside `take`; what needs a fiber is handed over: the first send that
    // failed (the writer then stops and fails the stream), and each commit whose Finalize awaits an answer (its timer).
    const sendFailed = yield* Deferred.make<never, SttError>()
    let failed = false
    const commits = yield* Queue.unbounded<void, Cause.Done>()
    const bufferLimit = maxBufferedAudioBytes(format)

    /** Sends now; on failure, tells the writer (once) and returns false. */
    const sent = (message: Uint8Array | "Finalize") => {
      const error = socket.sendNow(message)
      if (error === undefined) return true
      failed = true
      Deferred.doneUnsafe(sendFailed, Effect.fail(error))
      return false
    }

    const take = (item: SttInput): boolean => {
      // After a failed send the stream is failing: what arrives meanwhile is lost with it (the client hears stt_failed).
      if (failed) return true
      if (item._tag === "Audio") {
        if (socket.bufferedBytes() > bufferLimit) return false
        if (!sent(item.pcm)) return true
        lastSentAt = clock.currentTimeMillisUnsafe()
        audioClock.sent(durationMs(format, item.pcm.byteLength), lastSentAt)
        return true
      }
      const awaiting = utterances.onCommit()
      if (sent("Finalize") && awaiting) Queue.offerUnsafe(commits, undefined)
      return true
    }

    /** A Finalize unanswered after finalizeTimeoutMs ends the utterance with what is known. */
    const armFinalizeTimer = Effect.suspend(() =>
      utterances.awaitingFinalize
        ? FiberHandle.run(
            finalizeTimer,
            Effect.sleep(options.finalizeTimeoutMs).pipe(
              Effect.andThen(Effect.suspend(() => emit(utterances.onFinalizeTimeout())))
            )
          )
        : Effect.void
    )
    const committer = yield* Effect.forkScoped(Stream.runForEach(Stream.fromQueue(commits), () => armFinalizeTimer))

    const writer = Effect.gen(function* () {
      yield* Effect.raceFirst(audio.attach(take), Deferred.await(sendFailed))
      // Input over: the commits' timers are armed before the stream is closed.
      yield* Queue.end(commits)
      yield* Fiber.join(committer)
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
    transcribe: (audio: SttAudio, format: AudioFormat) =>
      Stream.callback<SttEvent, SttError>((out) =>
        Effect.flatMap(openListenSocket(settings, format, resolved.connectTimeoutMs), (socket) =>
          runListen(socket, out, audio, format, resolved)
        )
      )
  }
}

export const layer = (settings: DeepgramSettings, options: DeepgramSttOptions) =>
  Layer.succeed(Stt, makeDeepgramStt(settings, options))

// The OpenAI STT adapter (raw): the transcription API has no endpointing, so the adapter segments the audio itself
// (UtteranceSegmenter: energy, silence, input.commit) and uploads each utterance as a WAV at the input rate. Events
// per utterance: SpeechStarted, SpeechEnded, then Partial* (streaming models) and one Final {text, audioMs} where
// audioMs is the audio sent. A commit with nothing said gives an empty Final without calling the API. Audio keeps
// being read while requests are in flight (they run concurrently) and each utterance's results come out in
// utterance order. The first failed request fails the whole stream (the Session restarts it).
import { type Cause, Duration, Effect, Fiber, Queue, Stream } from "effect"
import type { OpenAiSettings } from "../../config/ProviderSettings.ts"
import { type AudioFormat, durationMs } from "../../domain/Audio.ts"
import { Stt, SttError, type SttEvent, type SttInput } from "../../pipeline/Stt.ts"
import { makeOpenAiClient } from "./client.ts"
import { toPortError } from "./errors.ts"
import { transcribeUtterance } from "./OpenAiTranscription.ts"
import { type SegmentEvent, UtteranceSegmenter } from "./UtteranceSegmenter.ts"

export interface OpenAiSttOptions {
  /**
   * The SDK's request timeout, and the longest one utterance's transcription may take as a whole (a streamed answer
   * that stalls after its headers would otherwise hold back every later final, which come out in order).
   */
  readonly timeoutMs: number
  /** RMS level (0..32767) at or above which a frame counts as speech. */
  readonly speechThreshold: number
  /** Trailing silence (of audio) that ends an utterance. */
  readonly endSilenceMs: number
  /** Audio kept from before speech was detected (default 300 ms). */
  readonly preRollMs?: number
  /** Longest utterance before it is cut and sent anyway (default 60 s). */
  readonly maxUtteranceMs?: number
}

type Results = Queue.Queue<SttEvent, SttError | Cause.Done>

export const makeOpenAiStt = (settings: OpenAiSettings, options: OpenAiSttOptions): Stt["Service"] => {
  const client = makeOpenAiClient(settings, options.timeoutMs)
  const toSttError = toPortError((fields) => new SttError(fields))
  const tooSlow = new SttError({
    reason: "timeout",
    retryable: true,
    message: `openai: no transcript within ${options.timeoutMs} ms`
  })

  /** One utterance's results: a Final with the audio length, after any partials. */
  const utteranceResults = (pcm: Uint8Array, format: AudioFormat): Stream.Stream<SttEvent, SttError> => {
    const sentMs = Math.round(durationMs(format, pcm.byteLength))
    return transcribeUtterance(client, settings.sttModel, pcm, format.sampleRate).pipe(
      Stream.map((event): SttEvent => (event._tag === "Final" ? { ...event, audioMs: sentMs } : event)),
      Stream.catch((error) => Stream.fromEffect(toSttError(error)))
    )
  }

  return Stt.of({
    provider: "openai",
    transcribe: (audio, format) =>
      Stream.callback<SttEvent, SttError>((out) =>
        Effect.gen(function* () {
          const segmenter = new UtteranceSegmenter({
            speechThreshold: options.speechThreshold,
            endSilenceMs: options.endSilenceMs,
            preRollMs: options.preRollMs ?? 300,
            maxUtteranceMs: options.maxUtteranceMs ?? 60_000
          })
          // Each ended utterance gets its own results queue, filled by its request as soon as it starts; one emitter
          // drains them in utterance order, so requests overlap but results never do.
          const pending = yield* Queue.unbounded<Results, Cause.Done>()
          const emitter = yield* Stream.fromQueue(pending).pipe(
            Stream.flatMap((results) => Stream.fromQueue(results)),
            Stream.runForEach((event) => Queue.offer(out, event)),
            Effect.catch((error) => Queue.fail(out, error)),
            Effect.forkScoped
          )

          const startUtterance = Effect.fnUntraced(function* (results: Stream.Stream<SttEvent, SttError>) {
            const queue: Results = yield* Queue.unbounded<SttEvent, SttError | Cause.Done>()
            const fill = Stream.runForEach(results, (e) => Queue.offer(queue, e)).pipe(
              Effect.timeoutOrElse({ duration: Duration.millis(options.timeoutMs), orElse: () => Effect.fail(tooSlow) })
            )
            yield* Effect.forkScoped(Queue.into(queue)(fill))
            yield* Queue.offer(pending, queue)
          })

          const onSegment = (event: SegmentEvent) => {
            if (event._tag === "Started") return Queue.offer(out, { _tag: "SpeechStarted" })
            const results: Stream.Stream<SttEvent, SttError> =
              event.speechMs === 0
                ? Stream.make({ _tag: "Final", text: "", audioMs: 0 })
                : utteranceResults(event.pcm, format)
            return Effect.andThen(Queue.offer(out, { _tag: "SpeechEnded" }), startUtterance(results))
          }

          const onInput = (item: SttInput) =>
            Effect.forEach(
              item._tag === "Commit"
                ? segmenter.commit()
                : segmenter.audio(item.pcm, durationMs(format, item.pcm.byteLength)),
              onSegment,
              { discard: true }
            )

          // The pull form: each utterance is uploaded whole, so the audio is read at the adapter's own pace.
          yield* Stream.runForEach(audio.stream, onInput)
          // Input over: an utterance still in progress is dropped; the ones already sent finish, in order.
          yield* Queue.end(pending)
          yield* Fiber.join(emitter)
          yield* Queue.end(out)
        })
      )
  })
}

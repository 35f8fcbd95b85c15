// Deepgram Aura text-to-speech over REST streaming: one POST /v1/speak per sentence (linear16, no container) whose
// body is read as it arrives and emitted as whole PCM16 samples (an odd byte is carried to the next chunk). Deepgram
// offers linear16 at 8, 16, 24, 32 and 48 kHz only, so 22050 and 44100 Hz are requested at 24000 / 48000 and
// resampled. Interrupting the stream aborts the request. Raw adapter: the SDK never retries; `timeoutMs` bounds the
// wait for the response headers (later stalls are the resilience policy's idle timeout).
import { Clock, Effect, Layer, type Scope, Stream } from "effect"
import { Resampler } from "../../audio/Resampler.ts"
import type { DeepgramSettings } from "../../config/ProviderSettings.ts"
import type { AudioFormat } from "../../domain/Audio.ts"
import { SpanOptions } from "../../observability/Spans.ts"
import { Tts, TtsError } from "../../pipeline/Tts.ts"
import { scopedAbortSignal } from "../sdkStream.ts"
import { makeDeepgramClient } from "./client.ts"
import { classifyRestError, unreachable } from "./errors.ts"

export interface DeepgramTtsOptions {
  /** Bound on the request until Deepgram starts answering. */
  readonly timeoutMs: number
}

/** The linear16 rate to ask Deepgram for: the session's own when offered, else the next one up. */
export const speakRate = (rate: AudioFormat["sampleRate"]): number =>
  [8000, 16000, 24000, 32000, 48000].find((offered) => offered >= rate) ?? 48000

/** POSTs one sentence; the response body as it arrives, or the classified failure. Aborted with the scope. */
const requestUntraced = Effect.fnUntraced(function* (
  settings: DeepgramSettings,
  options: DeepgramTtsOptions,
  text: string,
  rate: number
): Effect.fn.Return<ReadableStream<Uint8Array>, TtsError, Scope.Scope> {
  const client = yield* makeDeepgramClient(settings, "speech synthesis", options.timeoutMs).pipe(
    Effect.mapError((failure) => new TtsError(failure))
  )
  const signal = yield* scopedAbortSignal
  const audio = yield* Effect.tryPromise({
    try: () =>
      client.speak.v1.audio.generate(
        { text, model: settings.ttsModel, encoding: "linear16", sample_rate: rate, container: "none" },
        { abortSignal: signal, maxRetries: 0, timeoutInSeconds: options.timeoutMs / 1000 }
      ),
    catch: (error) => error
  }).pipe(
    Effect.catch((error) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.fail(new TtsError(classifyRestError("speech synthesis", error, now)))
      )
    )
  )
  const body = audio.stream()
  if (body === null) {
    return yield* new TtsError({
      reason: "protocol",
      retryable: false,
      message: "Deepgram speech synthesis answered without audio"
    })
  }
  return body
})
const request = (...args: Parameters<typeof requestUntraced>) =>
  Effect.withSpan(requestUntraced(...args), "DeepgramTts.request", SpanOptions)

/** Byte chunks at `from` Hz → whole PCM16 samples at `to` Hz (the Resampler carries odd bytes; same rate: a copy). */
const toSessionRate = (body: ReadableStream<Uint8Array>, from: number, to: number) =>
  Stream.fromReadableStream({
    evaluate: () => body,
    onError: () => new TtsError(unreachable("speech synthesis", "audio stream broke off"))
  }).pipe(
    Stream.mapAccum(
      () => new Resampler(from, to),
      (resampler, chunk: Uint8Array) => [resampler, nonEmpty(resampler.push(chunk))] as const,
      { onHalt: (resampler) => nonEmpty(resampler.flush()) }
    )
  )

export const makeDeepgramTts = (settings: DeepgramSettings, options: DeepgramTtsOptions): Tts["Service"] => ({
  provider: "deepgram",
  synthesize: (text, format) => {
    const rate = speakRate(format.sampleRate)
    return Stream.unwrap(
      Effect.map(request(settings, options, text, rate), (body) => toSessionRate(body, rate, format.sampleRate))
    )
  }
})

const nonEmpty = (pcm: Uint8Array): ReadonlyArray<Uint8Array> => (pcm.byteLength > 0 ? [pcm] : [])

export const layer = (settings: DeepgramSettings, options: DeepgramTtsOptions) =>
  Layer.succeed(Tts, makeDeepgramTts(settings, options))

// The OpenAI TTS adapter (raw): POST /v1/audio/speech with response_format "pcm" (24 kHz PCM16 mono), the body read
// as it arrives and resampled on the fly (state kept across chunks) to the session's output rate; every chunk holds
// whole samples. The HTTP request is aborted when the stream is interrupted.
import { Stream } from "effect"
import { Resampler } from "../../audio/Resampler.ts"
import type { OpenAiSettings } from "../../config/ProviderSettings.ts"
import { Tts, TtsError } from "../../pipeline/Tts.ts"
import { protocolFailure } from "../httpErrors.ts"
import { fromSdkResponseBody } from "../sdkStream.ts"
import { makeOpenAiClient } from "./client.ts"
import { toPortError } from "./errors.ts"

/** The sample rate of OpenAI's `pcm` response format. */
export const OpenAiPcmRate = 24000

export const makeOpenAiTts = (settings: OpenAiSettings, options: { readonly timeoutMs: number }): Tts["Service"] => {
  const client = makeOpenAiClient(settings, options.timeoutMs)
  return Tts.of({
    provider: "openai",
    synthesize: (text, format) =>
      Stream.suspend(() => {
        const resampler = new Resampler(OpenAiPcmRate, format.sampleRate)
        return fromSdkResponseBody(
          (signal) =>
            client.audio.speech.create(
              { model: settings.ttsModel, voice: settings.ttsVoice, input: text, response_format: "pcm" },
              { signal }
            ),
          () => protocolFailure("openai", "speech response has no body")
        ).pipe(
          Stream.map((chunk) => resampler.push(chunk)),
          Stream.concat(Stream.sync(() => resampler.flush())),
          Stream.filter((chunk) => chunk.byteLength > 0),
          Stream.catch((error) => Stream.fromEffect(toPortError((fields) => new TtsError(fields))(error)))
        )
      })
  })
}

// The telemetry of each port's provider calls, ready for ResilientPorts: what each kind of call reports as usage
// (LLM tokens from its usage chunks, TTS characters per request and audio bytes, STT audio seconds) on top of the
// span, request and error counting of ProviderTelemetry.ts.
import { Effect, type Stream } from "effect"
import type { AudioFormat } from "../domain/Audio.ts"
import type { LlmChunk } from "../pipeline/Llm.ts"
import type { SttAudio } from "../pipeline/Stt.ts"
import * as M from "./Metrics.ts"
import { type Attempt, providerCalls } from "./ProviderTelemetry.ts"
import { countSttAudio } from "./SttAudioUsage.ts"

/** `call` runs the guarded call, passing each attempt through `attempt`. */
type Guarded<A, E> = (attempt: Attempt) => Stream.Stream<A, E>

export const llmTelemetry = (provider: string, model: string) => {
  const calls = providerCalls("llm", provider, { model })
  return {
    register: calls.register,
    call: <E>(run: Guarded<LlmChunk, E>) =>
      calls.stream(run, {
        perChunk: (chunks, tally) => {
          let input = 0
          let output = 0
          for (const chunk of chunks) {
            if (chunk._tag !== "Usage") continue
            input += chunk.inputTokens
            output += chunk.outputTokens
          }
          if (input === 0 && output === 0) return Effect.void
          tally.input_tokens = (tally.input_tokens ?? 0) + input
          tally.output_tokens = (tally.output_tokens ?? 0) + output
          return Effect.andThen(calls.usage(M.providerInputTokens, input), calls.usage(M.providerOutputTokens, output))
        }
      })
  }
}

export const ttsTelemetry = (provider: string) => {
  const calls = providerCalls("tts", provider)
  return {
    register: calls.register,
    call: <E>(text: string, run: Guarded<Uint8Array, E>) =>
      calls.stream(run, {
        perAttempt: calls.usage(M.providerCharacters, text.length),
        perChunk: (pcms, tally) =>
          Effect.sync(() => {
            for (const pcm of pcms) tally.audio_bytes = (tally.audio_bytes ?? 0) + pcm.byteLength
          })
      })
  }
}

export const sttTelemetry = (provider: string) => {
  const calls = providerCalls("stt", provider)
  const audioSeconds = calls.series(M.providerAudioSeconds)
  return {
    register: calls.register,
    call: calls.stream,
    /** The session's audio on its way to the provider, counted in seconds (SttAudioUsage.ts). */
    countAudio: (audio: SttAudio, format: AudioFormat) => countSttAudio(audio, format, audioSeconds)
  }
}

export const enrichmentTelemetry = (provider: string) => {
  const calls = providerCalls("enrichment", provider)
  return { register: calls.register, call: calls.effect }
}

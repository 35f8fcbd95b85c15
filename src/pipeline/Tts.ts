// The text-to-speech port: one sentence in, PCM16 audio chunks out in the session's output format.
import { Context, Schema, type Stream } from "effect"
import type { AudioFormat } from "../domain/Audio.ts"
import { portErrorFields } from "./PortError.ts"

export class TtsError extends Schema.TaggedError<TtsError>()("TtsError", portErrorFields) {}

export class Tts extends Context.Service<
  Tts,
  {
    readonly provider: string
    readonly synthesize: (text: string, format: AudioFormat) => Stream.Stream<Uint8Array, TtsError>
  }
>()("voice-stream/pipeline/Tts") {}

// The speech-to-text port: a session's audio in, speech events and transcripts out.
import { Context, Schema, type Stream } from "effect"
import type { AudioFormat } from "../domain/Audio.ts"
import { portErrorFields } from "./PortError.ts"

export class SttError extends Schema.TaggedError<SttError>()("SttError", portErrorFields) {}

/** What flows into the STT: audio frames, and the client's "that was the end of what I said". */
export type SttInput = { readonly _tag: "Audio"; readonly pcm: Uint8Array } | { readonly _tag: "Commit" }

/** What comes out: voice activity, partial transcripts, end of speech, and one final per utterance. */
export type SttEvent =
  | { readonly _tag: "SpeechStarted" }
  | { readonly _tag: "Partial"; readonly text: string }
  | { readonly _tag: "SpeechEnded" }
  | {
      readonly _tag: "Final"
      readonly text: string
      readonly audioMs: number
      /** Clock time the speech ended, when the provider can tell (its endpointing happened before it said so). */
      readonly speechEndedAt?: number
    }

export class Stt extends Context.Service<
  Stt,
  {
    readonly provider: string
    /** One stream per session: it lives as long as `input` does; each utterance yields one Final. */
    readonly transcribe: (input: Stream.Stream<SttInput>, format: AudioFormat) => Stream.Stream<SttEvent, SttError>
  }
>()("voice-stream/pipeline/Stt") {}

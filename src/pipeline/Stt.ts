// The speech-to-text port: a session's audio in, speech events and transcripts out.
import { Context, type Effect, Schema, type Stream } from "effect"
import type { AudioFormat } from "../domain/Audio.ts"
import { portErrorFields } from "./PortError.ts"

export class SttError extends Schema.TaggedError<SttError>()("SttError", portErrorFields) {}

/** What flows into the STT: audio frames, and the client's "that was the end of what I said". */
export type SttInput = { readonly _tag: "Audio"; readonly pcm: Uint8Array } | { readonly _tag: "Commit" }

/**
 * Items that may wait for the STT in the session's buffer; beyond it audio is dropped (audio_dropped), never waited
 * on. An adapter that takes audio in the push form bounds its own send buffer at as much audio (20 ms frames).
 */
export const SttInputCapacity = 256

/**
 * The STT's input, in two forms; one transcribe call uses one of them. Adapters that can send audio on the spot use
 * the push form, which costs no fiber wake-up per frame; those that consume at their own pace use the stream.
 */
export interface SttAudio {
  /** Pull form: the input as a stream. */
  readonly stream: Stream.Stream<SttInput>
  /**
   * Push form: while this effect runs, every item is handed to `take` synchronously as it arrives (outside any
   * fiber, possibly), the items already buffered first, in order. It completes when the input ends (a session's
   * audio never does); once interrupted (the transcribe call's scope closed) items are buffered again for the next
   * call. `take` must not block or throw; it returns false when the adapter cannot take the item now (its own buffer
   * is full): the item is dropped and the client told (audio_dropped, once per episode).
   */
  readonly attach: (take: (item: SttInput) => boolean) => Effect.Effect<void>
}

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
    /** One stream per session: it lives as long as the audio does; each utterance yields one Final. */
    readonly transcribe: (audio: SttAudio, format: AudioFormat) => Stream.Stream<SttEvent, SttError>
  }
>()("voice-stream/pipeline/Stt") {}

// One utterance through POST /v1/audio/transcriptions (multipart WAV upload): for models that stream (gpt-*
// transcribe models) the `transcript.text.delta` SSE events become growing partial texts and `transcript.text.done`
// the final text; for the others (whisper-1, most compatible servers) one JSON `{text}` becomes the final text.
// Raw SDK errors stay in the error channel; the request is aborted if the stream is interrupted.
import { Effect, identity, Schema, Stream } from "effect"
import type OpenAI from "openai"
import { wavFile } from "../../audio/Wav.ts"
import { protocolFailure } from "../httpErrors.ts"
import { fromSdkIterable } from "../sdkStream.ts"

export type TranscriptionEvent =
  | { readonly _tag: "Partial"; readonly text: string }
  | { readonly _tag: "Final"; readonly text: string }

/** Streaming (SSE) transcription is a feature of the gpt-* transcribe models, not of whisper-1. */
export const streamsTranscript = (model: string): boolean => /^gpt-/i.test(model)

const StreamEvent = Schema.Union([
  Schema.Struct({ type: Schema.Literal("transcript.text.delta"), delta: Schema.String }),
  Schema.Struct({ type: Schema.Literal("transcript.text.done"), text: Schema.String }),
  Schema.Struct({ type: Schema.String })
])
const decodeStreamEvent = Schema.decodeUnknownEffect(StreamEvent)
const decodeTranscript = Schema.decodeUnknownEffect(Schema.Struct({ text: Schema.String }))

const malformed = () => protocolFailure("openai", "unexpected transcription response shape")

export const transcribeUtterance = (
  client: OpenAI,
  model: string,
  pcm: Uint8Array,
  sampleRate: number
): Stream.Stream<TranscriptionEvent, unknown> => {
  const file = new File([wavFile(pcm, sampleRate)], "utterance.wav", { type: "audio/wav" })
  if (!streamsTranscript(model)) {
    return Stream.fromEffect(
      Effect.tryPromise({
        try: (signal) => client.audio.transcriptions.create({ file, model, response_format: "json" }, { signal }),
        catch: identity
      }).pipe(
        Effect.flatMap((reply) => Effect.mapError(decodeTranscript(reply), malformed)),
        Effect.map((reply): TranscriptionEvent => ({ _tag: "Final", text: reply.text }))
      )
    )
  }
  return Stream.suspend(() => {
    let text = ""
    let done = false
    return fromSdkIterable((signal) =>
      client.audio.transcriptions.create({ file, model, response_format: "json", stream: true }, { signal })
    ).pipe(
      Stream.mapEffect((raw) => Effect.mapError(decodeStreamEvent(raw), malformed)),
      Stream.map((event): ReadonlyArray<TranscriptionEvent> => {
        if (done) return []
        if (event.type === "transcript.text.delta" && "delta" in event) {
          text += event.delta
          return [{ _tag: "Partial", text }]
        }
        if (event.type === "transcript.text.done" && "text" in event) {
          done = true
          return [{ _tag: "Final", text: event.text }]
        }
        return []
      }),
      Stream.flattenIterable,
      Stream.concat(
        Stream.suspend(() =>
          done
            ? Stream.empty
            : Stream.fail(protocolFailure("openai", "transcription ended before transcript.text.done"))
        )
      )
    )
  })
}

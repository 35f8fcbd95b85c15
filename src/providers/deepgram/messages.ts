// The server messages of Deepgram's live transcription socket, decoded with Schema. Unknown fields are ignored and
// unknown message types are passed on as "Other", so additions on Deepgram's side do not break the stream.
import { Result, Schema } from "effect"

const Alternative = Schema.Struct({ transcript: Schema.String })

/** A transcript for the audio from `start` for `duration` seconds; interim unless `is_final`. */
export const ListenResults = Schema.Struct({
  type: Schema.Literal("Results"),
  start: Schema.Number,
  duration: Schema.Number,
  is_final: Schema.optionalKey(Schema.Boolean),
  speech_final: Schema.optionalKey(Schema.Boolean),
  from_finalize: Schema.optionalKey(Schema.Boolean),
  channel: Schema.Struct({ alternatives: Schema.Array(Alternative) })
})
export type ListenResults = typeof ListenResults.Type

export const ListenSpeechStarted = Schema.Struct({ type: Schema.Literal("SpeechStarted") })
export const ListenUtteranceEnd = Schema.Struct({ type: Schema.Literal("UtteranceEnd") })
export const ListenMetadata = Schema.Struct({ type: Schema.Literal("Metadata") })

export const KnownListenMessage = Schema.Union([ListenResults, ListenSpeechStarted, ListenUtteranceEnd, ListenMetadata])
export type ListenMessage = typeof KnownListenMessage.Type | { readonly type: "Other" }

const Envelope = Schema.Struct({ type: Schema.String })
const knownTypes: ReadonlyArray<string> = ["Results", "SpeechStarted", "UtteranceEnd", "Metadata"]
const decodeEnvelope = Schema.decodeUnknownResult(Envelope)
const decodeKnown = Schema.decodeUnknownResult(KnownListenMessage)

/**
 * One message as the SDK hands it over (parsed JSON, or the raw string when it was not JSON) → a typed message, or
 * why it is not one. The reason never quotes the message, which may hold a transcript.
 */
export const decodeListenMessage = (data: unknown): Result.Result<ListenMessage, string> => {
  const envelope = decodeEnvelope(data)
  if (Result.isFailure(envelope)) {
    return Result.fail(typeof data === "string" ? "a message that is not JSON" : "a message without a type")
  }
  const type = envelope.success.type
  if (!knownTypes.includes(type)) return Result.succeed({ type: "Other" })
  return Result.mapError(decodeKnown(data), () => `an invalid ${type} message`)
}

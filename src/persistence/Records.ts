// What the server records about sessions, turns and provider usage: one Schema for the buffer, the spill file and
// the database writer. Times are epoch milliseconds read from the Clock.
import { Schema } from "effect"

const Millis = Schema.Finite
const NullableMs = Schema.NullOr(Schema.Finite)

export const SessionStarted = Schema.TaggedStruct("SessionStarted", {
  sessionId: Schema.String,
  userId: Schema.String,
  instanceId: Schema.String,
  startedAt: Millis,
  clientInfo: Schema.Record(Schema.String, Schema.String),
  inputFormat: Schema.Unknown,
  outputFormat: Schema.Unknown
})

export const TurnCompleted = Schema.TaggedStruct("TurnCompleted", {
  sessionId: Schema.String,
  seq: Schema.Int,
  inputKind: Schema.Literals(["audio", "text"]),
  userText: Schema.String,
  /** The reply exactly as sent to the client. */
  assistantText: Schema.String,
  interrupted: Schema.Boolean,
  errorCode: Schema.NullOr(Schema.String),
  sttMs: NullableMs,
  enrichmentMs: NullableMs,
  llmFirstTokenMs: NullableMs,
  ttsFirstByteMs: NullableMs,
  firstAudioMs: NullableMs,
  totalMs: NullableMs,
  startedAt: Millis,
  endedAt: Millis
})

export const UsageRecorded = Schema.TaggedStruct("UsageRecorded", {
  id: Schema.String,
  sessionId: Schema.String,
  turnSeq: Schema.NullOr(Schema.Int),
  provider: Schema.String,
  kind: Schema.Literals(["stt", "llm", "tts", "enrichment"]),
  audioSeconds: Schema.Finite,
  inputTokens: Schema.Int,
  outputTokens: Schema.Int,
  characters: Schema.Int,
  requests: Schema.Int,
  errors: Schema.Int,
  recordedAt: Millis
})

export const SessionEnded = Schema.TaggedStruct("SessionEnded", {
  sessionId: Schema.String,
  endedAt: Millis,
  reason: Schema.String
})

export const StoreRecord = Schema.Union([SessionStarted, TurnCompleted, UsageRecorded, SessionEnded])
export type StoreRecord = typeof StoreRecord.Type
export type TurnCompleted = typeof TurnCompleted.Type
export type UsageRecorded = typeof UsageRecorded.Type

/** One record per line in the spill file. */
export const StoreRecordJson = Schema.fromJsonString(StoreRecord)

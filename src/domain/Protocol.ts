// Protocol version 1 of /v1/stream: every JSON control message and event, defined once with Schema.
// docs/protocol.md documents the same shapes with examples; keep the two in step.
import { Schema } from "effect"
import { AudioFormat, SampleRate } from "./Audio.ts"
import { EnrichmentContext } from "./Enrichment.ts"
import { ErrorCode, SessionEndReason } from "./Errors.ts"

export const ProtocolName = "voice-stream.v1"

/** Longest typed turn accepted, in characters. */
export const MaxTextInputLength = 4000

/** Refuses NUL characters, which Postgres text cannot store. */
const noNul = (message = "must not contain NUL characters") =>
  Schema.makeFilter((value: string) => !value.includes("\u0000"), { message })

const TurnId = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))

// ---- client → server ----

export const SessionStart = Schema.Struct({
  type: Schema.Literal("session.start"),
  /** The microphone audio the client will send. */
  input: Schema.optionalKey(
    Schema.Struct({
      encoding: Schema.optionalKey(Schema.Literal("pcm16")),
      sampleRate: Schema.optionalKey(SampleRate)
    })
  ),
  /** The reply audio the client wants. */
  output: Schema.optionalKey(
    Schema.Struct({
      encoding: Schema.optionalKey(Schema.Literal("pcm16")),
      sampleRate: Schema.optionalKey(SampleRate)
    })
  ),
  /** Free-form client identification, kept with the session (name, version, platform). */
  client: Schema.optionalKey(
    Schema.Record(
      Schema.String.check(Schema.isMaxLength(50), noNul()),
      Schema.String.check(Schema.isMaxLength(200), noNul())
    ).check(Schema.isMaxProperties(20))
  )
})
export type SessionStart = typeof SessionStart.Type

export const InputCommit = Schema.Struct({ type: Schema.Literal("input.commit") })
export const InputText = Schema.Struct({
  type: Schema.Literal("input.text"),
  text: Schema.String.check(
    Schema.isPattern(/\S/, { message: "text must not be empty or only white space" }),
    noNul("text must not contain NUL characters"),
    Schema.isMaxLength(MaxTextInputLength)
  )
})
export const ResponseCancel = Schema.Struct({ type: Schema.Literal("response.cancel") })
export const Ping = Schema.Struct({
  type: Schema.Literal("ping"),
  id: Schema.optionalKey(Schema.Union([Schema.String.check(Schema.isMaxLength(100)), Schema.Finite]))
})

export const ClientMessage = Schema.Union([SessionStart, InputCommit, InputText, ResponseCancel, Ping]).pipe(
  Schema.toTaggedUnion("type")
)
export type ClientMessage = typeof ClientMessage.Type

export const ClientMessageTypes = ["session.start", "input.commit", "input.text", "response.cancel", "ping"] as const

// ---- server → client ----

export const SessionStarted = Schema.Struct({
  type: Schema.Literal("session.started"),
  sessionId: Schema.String,
  protocol: Schema.Literal(ProtocolName),
  input: AudioFormat,
  output: AudioFormat,
  limits: Schema.Struct({ maxFrameBytes: Schema.Int, maxTextLength: Schema.Int })
})

export const TranscriptPartial = Schema.Struct({
  type: Schema.Literal("transcript.partial"),
  turn: TurnId,
  text: Schema.String
})
export const TranscriptFinal = Schema.Struct({
  type: Schema.Literal("transcript.final"),
  turn: TurnId,
  text: Schema.String
})
export const ContextEvent = Schema.Struct({
  type: Schema.Literal("context"),
  turn: TurnId,
  context: EnrichmentContext
})
export const ResponseTextDelta = Schema.Struct({
  type: Schema.Literal("response.text.delta"),
  turn: TurnId,
  delta: Schema.String
})
export const ResponseAudioStart = Schema.Struct({
  type: Schema.Literal("response.audio.start"),
  turn: TurnId,
  format: AudioFormat
})
export const ResponseAudioDone = Schema.Struct({
  type: Schema.Literal("response.audio.done"),
  turn: TurnId,
  bytes: Schema.Int,
  durationMs: Schema.Finite
})

/** Milliseconds per stage of one turn; null where the stage did not run (e.g. stt for a typed turn). */
export const LatencyBreakdown = Schema.Struct({
  sttMs: Schema.NullOr(Schema.Finite),
  enrichmentMs: Schema.NullOr(Schema.Finite),
  llmFirstTokenMs: Schema.NullOr(Schema.Finite),
  ttsFirstByteMs: Schema.NullOr(Schema.Finite),
  firstAudioMs: Schema.NullOr(Schema.Finite),
  totalMs: Schema.Finite
})
export type LatencyBreakdown = typeof LatencyBreakdown.Type

export const ResponseDone = Schema.Struct({
  type: Schema.Literal("response.done"),
  turn: TurnId,
  text: Schema.String,
  latency: LatencyBreakdown
})
export const CancelReason = Schema.Literals(["client_cancel", "new_turn", "session_end"])
export type CancelReason = typeof CancelReason.Type
export const ResponseCancelled = Schema.Struct({
  type: Schema.Literal("response.cancelled"),
  turn: TurnId,
  reason: CancelReason,
  /** The reply text the client had been sent before the cancel, which is all the history keeps. */
  textSent: Schema.String
})
export const ErrorEvent = Schema.Struct({
  type: Schema.Literal("error"),
  code: ErrorCode,
  message: Schema.String,
  /** True when the session goes on after this error. */
  recoverable: Schema.Boolean,
  turn: Schema.optionalKey(TurnId),
  retryAfterMs: Schema.optionalKey(Schema.Int)
})
export const SessionEnded = Schema.Struct({
  type: Schema.Literal("session.ended"),
  reason: SessionEndReason
})
export const Pong = Schema.Struct({
  type: Schema.Literal("pong"),
  id: Schema.optionalKey(Schema.Union([Schema.String, Schema.Finite]))
})

export const ServerEvent = Schema.Union([
  SessionStarted,
  TranscriptPartial,
  TranscriptFinal,
  ContextEvent,
  ResponseTextDelta,
  ResponseAudioStart,
  ResponseAudioDone,
  ResponseDone,
  ResponseCancelled,
  ErrorEvent,
  SessionEnded,
  Pong
]).pipe(Schema.toTaggedUnion("type"))
export type ServerEvent = typeof ServerEvent.Type
export type ErrorEvent = typeof ErrorEvent.Type

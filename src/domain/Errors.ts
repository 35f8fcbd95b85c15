// Stable codes the protocol uses for error events, session end reasons and HTTP refusals.
import { Schema } from "effect"

/** Codes of `error` events. Stable: clients switch on them. docs/protocol.md explains each. */
export const ErrorCode = Schema.Literals([
  "invalid_json",
  "invalid_message",
  "unknown_message_type",
  "session_not_started",
  "session_already_started",
  "invalid_audio",
  "audio_dropped",
  "no_speech",
  "stt_failed",
  "stt_timeout",
  "llm_failed",
  "llm_timeout",
  "tts_failed",
  "tts_timeout",
  "rate_limited",
  "internal_error"
])
export type ErrorCode = typeof ErrorCode.Type

/** Why a session ended, sent in `session.ended` before the socket closes. */
export const SessionEndReason = Schema.Literals([
  "client_closed",
  "server_shutdown",
  "protocol_violation",
  "frame_too_large",
  "idle_timeout",
  "slow_consumer",
  "internal_error"
])
export type SessionEndReason = typeof SessionEndReason.Type

/** WebSocket close codes used by the server (RFC 6455 §7.4.1). */
export const CloseCode = {
  normal: 1000,
  policyViolation: 1008,
  messageTooBig: 1009,
  internalError: 1011,
  serviceRestart: 1012
} as const

/** Codes of refused upgrades: the JSON body `{ "error": code, "message": … }` of a non-101 answer. */
export type RefusalCode =
  | "unauthorized"
  | "forbidden_origin"
  | "server_at_capacity"
  | "too_many_sessions"
  | "rate_limited"
  | "draining"
  | "upgrade_required"
  | "not_found"
  | "bad_request"
  | "store_unavailable"
  | "internal_error"

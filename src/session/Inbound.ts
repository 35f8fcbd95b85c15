// Decodes what a client sends into protocol messages, or into the error event the client should get.
import { Result, Schema } from "effect"
import type { ErrorCode } from "../domain/Errors.ts"
import { ClientMessage, ClientMessageTypes } from "../domain/Protocol.ts"

export interface InboundProblem {
  readonly code: ErrorCode
  readonly message: string
}

const decodeMessage = Schema.decodeUnknownResult(ClientMessage)

const describe = (value: unknown): string =>
  Array.isArray(value) ? "an array" : value === null ? "null" : typeof value

/** A text frame → a typed message, or the problem with it (never throws). */
export const decodeClientText = (text: string): Result.Result<ClientMessage, InboundProblem> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return Result.fail({ code: "invalid_json", message: "Text frames must be JSON control messages" })
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return Result.fail({ code: "invalid_message", message: `Expected a JSON object, got ${describe(json)}` })
  }
  const type = (json as { readonly type?: unknown }).type
  if (typeof type !== "string" || !(ClientMessageTypes as ReadonlyArray<string>).includes(type)) {
    return Result.fail({
      code: "unknown_message_type",
      message: `Unknown message type ${JSON.stringify(type ?? null).slice(0, 60)}; expected one of ${ClientMessageTypes.join(", ")}`
    })
  }
  return Result.mapError(decodeMessage(json), (issue) => ({
    code: "invalid_message" as const,
    message: `Invalid ${type}: ${String(issue.message).split("\n").slice(0, 3).join("; ").slice(0, 300)}`
  }))
}

/** A binary frame must be whole PCM16 samples. */
export const checkAudioFrame = (frame: Uint8Array): InboundProblem | undefined =>
  frame.byteLength === 0 || frame.byteLength % 2 !== 0
    ? {
        code: "invalid_audio",
        message: `Audio frames must be PCM16: a non-zero even number of bytes, got ${frame.byteLength}`
      }
    : undefined

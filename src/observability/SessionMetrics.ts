// Metrics of connections and sessions: open sockets, sessions started and ended, refused upgrades, error events sent
// and reply audio written. Every known label value is registered at start, so alert expressions find their series
// (at 0) before the first event.
import { Effect, Exit, Metric } from "effect"
import { ErrorCode, SessionEndReason } from "../domain/Errors.ts"
import type { ServerEvent } from "../domain/Protocol.ts"
import type { Transport } from "../session/Transport.ts"
import * as M from "./Metrics.ts"

/** Reasons /v1/stream refuses an upgrade with; `rate_limited` is the admission rate limiter's. */
export const RefusalReasons = [
  "upgrade_required",
  "forbidden_origin",
  "unauthorized",
  "server_at_capacity",
  "too_many_sessions",
  "draining",
  "rate_limited",
  "internal_error"
] as const

/** A session whose scope was interrupted before it could say why it ended (a forced stop). */
const InterruptedReason = "interrupted"

/** The pipeline stage an error code belongs to (a label of voice_stream_errors_total). */
export const stageOfError = (code: ErrorCode): string => {
  if (code === "no_speech" || code.startsWith("stt_")) return "stt"
  if (code.startsWith("llm_")) return "llm"
  if (code.startsWith("tts_")) return "tts"
  if (code === "audio_dropped") return "input"
  if (code === "internal_error") return "internal"
  return "protocol"
}

const ended = (reason: string) => Metric.withAttributes(M.sessionsEnded, { reason })
const refused = (reason: string) => Metric.withAttributes(M.upgradeRefusals, { reason })
const errorSeries = (code: ErrorCode) => Metric.withAttributes(M.errors, { stage: stageOfError(code), code })

/** Registers every series of this file at 0. */
export const registerSessionSeries = Effect.gen(function* () {
  yield* Metric.value(M.websocketConnections)
  yield* Metric.value(M.sessionsStarted)
  yield* Metric.value(M.outboundAudioBytes)
  for (const reason of [...SessionEndReason.literals, InterruptedReason]) yield* Metric.value(ended(reason))
  for (const reason of RefusalReasons) yield* Metric.value(refused(reason))
  for (const code of ErrorCode.literals) yield* Metric.value(errorSeries(code))
})

/** Counts a refused upgrade. */
export const countRefusal = (reason: string) => Metric.update(refused(reason), 1)

/** Runs a session as one open connection: counted when it starts, and by its end reason when it ends. */
export const trackConnection = <E, R>(session: Effect.Effect<SessionEndReason, E, R>) =>
  Metric.modify(M.websocketConnections, 1).pipe(
    Effect.andThen(Metric.update(M.sessionsStarted, 1)),
    Effect.andThen(session),
    Effect.onExit((exit) =>
      Metric.modify(M.websocketConnections, -1).pipe(
        Effect.andThen(Metric.update(ended(Exit.isSuccess(exit) ? exit.value : InterruptedReason), 1))
      )
    )
  )

/** An outbox whose `event` counts the error events it queues. */
export const countingErrors = <O extends { readonly event: (event: ServerEvent) => Effect.Effect<void> }>(
  outbox: O
): O => ({
  ...outbox,
  event: (event: ServerEvent) =>
    event.type === "error"
      ? Effect.andThen(Metric.update(errorSeries(event.code), 1), outbox.event(event))
      : outbox.event(event)
})

/** A transport that counts the binary (reply audio) bytes it writes, whichever way it sends (Transport.ts). */
export const countingAudio = (transport: Transport) =>
  Effect.map(Effect.context<never>(), (context): Transport => {
    const audioBytesOf = (frames: ReadonlyArray<string | Uint8Array>) => {
      let bytes = 0
      for (const frame of frames) if (typeof frame !== "string") bytes += frame.byteLength
      return bytes
    }
    const { sendNow } = transport
    return {
      ...transport,
      sendAll: (frames) =>
        Effect.suspend(() => {
          const audioBytes = audioBytesOf(frames)
          const sent = transport.sendAll(frames)
          return audioBytes === 0 ? sent : Effect.andThen(sent, Metric.update(M.outboundAudioBytes, audioBytes))
        }),
      ...(sendNow === undefined
        ? {}
        : {
            sendNow: (frames: ReadonlyArray<string | Uint8Array>) => {
              sendNow(frames)
              const audioBytes = audioBytesOf(frames)
              if (audioBytes > 0) M.outboundAudioBytes.updateUnsafe(audioBytes, context)
            }
          })
    }
  })

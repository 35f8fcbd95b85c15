// One turn, traced and counted: the `turn` span (from the end of speech, or the typed message, to the reply's end),
// the `stt` child span for the wait on the final transcript, and, when the turn ends, its outcome and per-stage
// latencies in voice_stream_turns_total and voice_stream_stage_latency_seconds.
import { Effect, Exit, Metric } from "effect"
import type { ReplyProgress } from "../pipeline/Reply.ts"
import * as M from "./Metrics.ts"
import { type Attributes, endSpan, recordSpan, startSpanAt } from "./Spans.ts"

export interface TurnInfo {
  readonly sessionId: string
  readonly turn: number
  readonly input: "audio" | "text"
  /** Clock time the turn began: end of speech, input.commit, or receipt of input.text. */
  readonly startedAt: number
  /** End of speech to the final transcript, for a spoken turn. */
  readonly sttMs: number | null
  readonly sttProvider: string
}

export const TurnOutcomes = ["done", "failed", "cancelled"] as const
export type TurnOutcome = (typeof TurnOutcomes)[number]
export const LatencyStages = ["stt", "enrichment", "llm_first_token", "tts_first_byte", "first_audio", "total"] as const

/** A turn whose reply ended on a provider error: the span's status, named by the error code only. */
class TurnFailed extends Error {
  override readonly name = "TurnFailed"
}

const outcomeOf = (exit: Exit.Exit<unknown, unknown>, progress: ReplyProgress): TurnOutcome =>
  Exit.hasInterrupts(exit) ? "cancelled" : Exit.isFailure(exit) || progress.errorCode !== null ? "failed" : "done"

const turnSeries = (outcome: TurnOutcome, input: TurnInfo["input"]) =>
  Metric.withAttributes(M.turns, { outcome, input })
const latencySeries = (stage: (typeof LatencyStages)[number]) => Metric.withAttributes(M.stageLatency, { stage })

/** Registers every turn series at 0. */
export const registerTurnSeries = Effect.gen(function* () {
  for (const outcome of TurnOutcomes)
    for (const input of ["audio", "text"] as const) {
      yield* Metric.value(turnSeries(outcome, input))
    }
  for (const stage of LatencyStages) yield* Metric.value(latencySeries(stage))
})

const latencies = (info: TurnInfo, progress: ReplyProgress) =>
  ({
    stt: info.sttMs,
    enrichment: progress.enrichmentMs,
    llm_first_token: progress.llmFirstTokenMs,
    tts_first_byte: progress.ttsFirstByteMs,
    first_audio: progress.firstAudioMs,
    total: progress.totalMs
  }) satisfies Record<(typeof LatencyStages)[number], number | null>

const recordMetrics = (info: TurnInfo, outcome: TurnOutcome, progress: ReplyProgress) =>
  Effect.gen(function* () {
    yield* Metric.update(turnSeries(outcome, info.input), 1)
    for (const [stage, ms] of Object.entries(latencies(info, progress))) {
      if (ms !== null) yield* Metric.update(latencySeries(stage as (typeof LatencyStages)[number]), ms / 1000)
    }
  })

const finalAttributes = (outcome: TurnOutcome, progress: ReplyProgress): Attributes => ({
  "turn.outcome": outcome,
  "error.code": progress.errorCode ?? undefined,
  "turn.cancel_reason": outcome === "cancelled" ? progress.cancelReason : undefined,
  "latency.enrichment_ms": progress.enrichmentMs ?? undefined,
  "latency.llm_first_token_ms": progress.llmFirstTokenMs ?? undefined,
  "latency.tts_first_byte_ms": progress.ttsFirstByteMs ?? undefined,
  "latency.first_audio_ms": progress.firstAudioMs ?? undefined,
  "latency.total_ms": progress.totalMs ?? undefined,
  "reply.characters": progress.textSent.length
})

/** Wraps one turn's reply (the reply fiber) in its span, and counts it when it ends, however it ends. */
export const observeTurn =
  (info: TurnInfo, progress: ReplyProgress) =>
  <A, E, R>(reply: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.acquireUseRelease(
      Effect.gen(function* () {
        const span = yield* startSpanAt("turn", info.startedAt, {
          "session.id": info.sessionId,
          "turn.number": info.turn,
          "turn.input": info.input
        })
        if (info.sttMs !== null) {
          yield* recordSpan("stt", info.startedAt, info.startedAt + info.sttMs, {
            provider: info.sttProvider,
            "latency.stt_ms": info.sttMs
          }).pipe(Effect.withParentSpan(span))
        }
        return span
      }),
      (span) => Effect.withParentSpan(reply, span),
      (span, exit) => {
        const outcome = outcomeOf(exit, progress)
        const spanExit =
          outcome === "failed" && Exit.isSuccess(exit)
            ? Exit.fail(new TurnFailed(progress.errorCode ?? "failed"))
            : exit
        return Effect.andThen(
          recordMetrics(info, outcome, progress),
          endSpan(span, spanExit, finalAttributes(outcome, progress))
        )
      }
    )

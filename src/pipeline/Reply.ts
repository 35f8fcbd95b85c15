// One turn's reply: enrichment within its budget, the LLM's tokens sent as they come, cut into sentences, each
// sentence spoken by TTS as soon as it is complete, audio sent in order, and a latency breakdown at the end.
import { Clock, Effect, Option, Stream } from "effect"
import type { AudioFormat } from "../domain/Audio.ts"
import { durationMs } from "../domain/Audio.ts"
import { type EnrichmentContext, emptyContext } from "../domain/Enrichment.ts"
import type { ErrorCode } from "../domain/Errors.ts"
import type { CancelReason, LatencyBreakdown, ServerEvent } from "../domain/Protocol.ts"
import { traceEnrichment, traceLlm, ttsSpan } from "../observability/ReplyTelemetry.ts"
import { Enricher } from "./Enricher.ts"
import { type ChatMessage, Llm, type LlmChunk, type LlmError } from "./Llm.ts"
import { chunkSentencesWith } from "./SentenceChunker.ts"
import { Tts, type TtsError } from "./Tts.ts"

export interface ReplyRequest {
  readonly turn: number
  readonly userText: string
  /** Earlier turns, oldest first, not including this turn's user message. */
  readonly history: ReadonlyArray<ChatMessage>
  readonly systemPrompt: string
  readonly outputFormat: AudioFormat
  readonly enrichmentBudgetMs: number
  /** Clock time the turn began: end of speech, input.commit, or receipt of input.text. */
  readonly startedAt: number
  /** Time from end of speech to the final transcript, or null for a typed turn. */
  readonly sttMs: number | null
}

export interface ReplyIO {
  readonly event: (event: ServerEvent) => Effect.Effect<void>
  readonly audio: (pcm: Uint8Array, turn: number) => Effect.Effect<void>
}

/** How a reply ended, with the reply text exactly as sent to the client (what the history keeps). */
export type ReplyOutcome =
  | { readonly _tag: "Done"; readonly textSent: string }
  | { readonly _tag: "Failed"; readonly textSent: string; readonly code: ErrorCode }

/** Mutable progress of a running reply: read by whoever cancels it, and recorded when it ends however it ends. */
export class ReplyProgress {
  textSent = ""
  cancelReason: CancelReason = "new_turn"
  /** Set when the reply ended on a port error. */
  errorCode: ErrorCode | null = null
  enrichmentMs: number | null = null
  llmFirstTokenMs: number | null = null
  ttsFirstByteMs: number | null = null
  firstAudioMs: number | null = null
  totalMs: number | null = null
  /** Usage, for quota tracking: what the LLM reported (or deltas counted when it reports nothing), sent to TTS. */
  llmDeltas = 0
  llmInputTokens = 0
  llmOutputTokens = 0
  /** The provider that served the reply, when the LLM port said so. */
  llmProvider: string | undefined = undefined
  ttsRequests = 0
  ttsCharacters = 0
}

const errorCode = (error: LlmError | TtsError): ErrorCode => {
  const port = error._tag === "LlmError" ? "llm" : "tts"
  return error.reason === "timeout" ? `${port}_timeout` : `${port}_failed`
}

/** Enrichment bounded by the budget: late or failed parts are left out and named in `missing`. */
const enrichWithinBudget = (text: string, budgetMs: number) =>
  Effect.gen(function* () {
    const enricher = yield* Enricher
    const result = yield* enricher.enrich(text).pipe(Effect.result, Effect.timeoutOption(budgetMs))
    return Option.match(result, {
      onNone: (): EnrichmentContext => ({ ...emptyContext, missing: ["market data (not ready within the budget)"] }),
      onSome: (r): EnrichmentContext =>
        r._tag === "Success" ? r.success : { ...emptyContext, missing: ["market data (source unavailable)"] }
    })
  })

export const runReply = Effect.fnUntraced(function* (request: ReplyRequest, io: ReplyIO, progress: ReplyProgress) {
  const llm = yield* Llm
  const tts = yield* Tts
  const enricher = yield* Enricher
  const speech = ttsSpan(tts.provider, progress)
  const { turn } = request
  const since = (from: number) => Effect.map(Clock.currentTimeMillis, (now) => now - from)

  const enrichStart = yield* Clock.currentTimeMillis
  const context = yield* enrichWithinBudget(request.userText, request.enrichmentBudgetMs).pipe(
    traceEnrichment(enricher.provider, request.enrichmentBudgetMs)
  )
  progress.enrichmentMs = yield* since(enrichStart)
  yield* io.event({ type: "context", turn, context })

  const llmStart = yield* Clock.currentTimeMillis
  let ttsStart: number | null = null
  let audioBytes = 0

  const clock = yield* Clock.clockWith(Effect.succeed)
  /** One chunk of LLM output: usage noted, its text deltas timed, kept and sent to the client, then cut into sentences. */
  const onLlmChunk = (chunks: ReadonlyArray<LlmChunk>) => {
    const deltas: Array<string> = []
    for (const chunk of chunks) {
      if (chunk._tag === "Delta") {
        deltas.push(chunk.text)
        continue
      }
      progress.llmInputTokens += chunk.inputTokens
      progress.llmOutputTokens += chunk.outputTokens
      if (chunk.provider !== undefined) progress.llmProvider = chunk.provider
    }
    if (deltas.length === 0) return Effect.succeed(deltas)
    if (progress.llmFirstTokenMs === null) progress.llmFirstTokenMs = clock.currentTimeMillisUnsafe() - llmStart
    // A delta counts as sent (and kept for the history) once it is queued for the client, not before: a reply
    // cancelled while the outbox is full keeps exactly what the client will get.
    const send = (delta: string) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.map(restore(io.event({ type: "response.text.delta", turn, delta })), () => {
          progress.llmDeltas++
          progress.textSent += delta
        })
      )
    return Effect.as(deltas.length === 1 ? send(deltas[0]!) : Effect.forEach(deltas, send, { discard: true }), deltas)
  }
  const llmOutput = llm
    .stream({
      system: request.systemPrompt,
      messages: [...request.history, { role: "user", content: request.userText }],
      context,
      now: new Date(llmStart).toISOString()
    })
    .pipe(traceLlm(llm, progress))

  const audio = chunkSentencesWith(llmOutput, onLlmChunk).pipe(
    // Let the LLM run ahead of TTS, so text deltas are never held back by speech synthesis.
    Stream.buffer({ capacity: 64 }),
    Stream.tap((sentence) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        ttsStart ??= now
        progress.ttsRequests++
        progress.ttsCharacters += sentence.length
      }).pipe(Effect.andThen(speech.start))
    ),
    // One sentence at a time, in order: audio of sentence n+1 never overtakes sentence n.
    Stream.flatMap((sentence) => speech.within(tts.synthesize(sentence, request.outputFormat)))
  )

  // A chunk (array) of audio at a time: a burst from the TTS is queued in one step.
  const sendAudio = (pcms: ReadonlyArray<Uint8Array>) => {
    for (const pcm of pcms) audioBytes += pcm.byteLength
    return Effect.forEach(pcms, (pcm) => io.audio(pcm, turn), { discard: true })
  }
  const outcome = yield* Stream.runForEachArray(audio, (pcms) =>
    progress.ttsFirstByteMs !== null
      ? sendAudio(pcms)
      : Effect.gen(function* () {
          progress.ttsFirstByteMs = yield* since(ttsStart ?? llmStart)
          progress.firstAudioMs = yield* since(request.startedAt)
          yield* io.event({ type: "response.audio.start", turn, format: request.outputFormat })
          yield* sendAudio(pcms)
        })
  ).pipe(
    Effect.onExit((exit) => speech.end(exit, durationMs(request.outputFormat, audioBytes) / 1000)),
    Effect.as<ReplyOutcome>({ _tag: "Done", textSent: "" }),
    Effect.catch((error) => {
      progress.errorCode = errorCode(error)
      return Effect.as(
        io.event({ type: "error", code: progress.errorCode, message: error.message, recoverable: true, turn }),
        { _tag: "Failed", textSent: "", code: progress.errorCode } as ReplyOutcome
      )
    })
  )
  progress.totalMs = yield* since(request.startedAt)
  if (outcome._tag === "Failed") return { ...outcome, textSent: progress.textSent }

  if (audioBytes > 0) {
    yield* io.event({
      type: "response.audio.done",
      turn,
      bytes: audioBytes,
      durationMs: durationMs(request.outputFormat, audioBytes)
    })
  }
  const latency: LatencyBreakdown = {
    sttMs: request.sttMs,
    enrichmentMs: progress.enrichmentMs,
    llmFirstTokenMs: progress.llmFirstTokenMs,
    ttsFirstByteMs: progress.ttsFirstByteMs,
    firstAudioMs: progress.firstAudioMs,
    totalMs: progress.totalMs
  }
  yield* io.event({ type: "response.done", turn, text: progress.textSent, latency })
  return { _tag: "Done", textSent: progress.textSent } as ReplyOutcome
})

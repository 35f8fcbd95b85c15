// The spans of one reply under its `turn`: `enrichment` (the budgeted wait for context), `llm` (request to last
// token) and `tts` (first sentence to last audio byte), each with its provider, counts and time to first output.
// The provider calls themselves are spans below these (ProviderTelemetry.ts).
import { Effect, type Exit, type Stream } from "effect"
import type { EnrichmentContext } from "../domain/Enrichment.ts"
import type { ReplyProgress } from "../pipeline/Reply.ts"
import { lazySpan, outcomeOf, SpanOptions, traceStream } from "./Spans.ts"

const reasonOf = (error: unknown) =>
  typeof error === "object" && error !== null && "reason" in error ? String(error.reason) : "error"

/** A TTS failure names its reason; an LLM failure reaching the audio stream only aborted the speech. */
const ttsReasonOf = (error: unknown) =>
  typeof error === "object" && error !== null && "_tag" in error && error._tag === "TtsError"
    ? reasonOf(error)
    : "aborted"

/** The enrichment step in a span: provider, budget, how much context came back and what is missing. */
export const traceEnrichment =
  (provider: string, budgetMs: number) =>
  <E, R>(enrich: Effect.Effect<EnrichmentContext, E, R>) =>
    Effect.withSpan(
      Effect.tap(enrich, (context) =>
        Effect.annotateCurrentSpan({
          outcome: context.missing.length === 0 ? "ok" : "partial",
          "enrichment.prices": context.prices.length,
          "enrichment.headlines": context.headlines.length,
          "enrichment.missing": context.missing.length
        })
      ),
      "enrichment",
      { ...SpanOptions, attributes: { provider, "enrichment.budget_ms": budgetMs } }
    )

/** The LLM's reply stream in a span; tokens and the time to the first one are read from `progress` at the end. */
export const traceLlm =
  (llm: { readonly provider: string; readonly model: string }, progress: ReplyProgress) =>
  <A, E, R>(deltas: Stream.Stream<A, E, R>) =>
    traceStream("llm", { provider: llm.provider, model: llm.model }, deltas, (exit) => ({
      provider: progress.llmProvider ?? llm.provider,
      outcome: outcomeOf(exit, reasonOf),
      "llm.first_token_ms": progress.llmFirstTokenMs ?? undefined,
      "llm.input_tokens": progress.llmInputTokens,
      "llm.output_tokens": progress.llmOutputTokens,
      "llm.deltas": progress.llmDeltas
    }))

/** The reply's speech synthesis: opened by the first sentence, the parent of every sentence's provider call. */
export const ttsSpan = (provider: string, progress: ReplyProgress) => {
  const span = lazySpan("tts", { provider })
  return {
    start: span.start,
    within: span.within,
    end: (exit: Exit.Exit<unknown, unknown>, audioSeconds: number) =>
      span.end(exit, () => ({
        outcome: outcomeOf(exit, ttsReasonOf),
        "tts.first_byte_ms": progress.ttsFirstByteMs ?? undefined,
        "tts.requests": progress.ttsRequests,
        "tts.characters": progress.ttsCharacters,
        "tts.audio_seconds": audioSeconds
      }))
  }
}

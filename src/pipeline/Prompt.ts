// How every LLM adapter presents a turn: the system prompt followed by the live context, each figure with its
// source and as-of time, and the rule to say when data is missing or stale instead of inventing it.
import type { EnrichmentContext } from "../domain/Enrichment.ts"
import type { LlmRequest } from "./Llm.ts"

const percent = (value: number | null) =>
  value === null ? "" : `, ${value >= 0 ? "+" : ""}${value.toFixed(2)} % in 24 h`

/** The context block, in plain text; it names what is missing so the model can say so. */
export const renderContext = (context: EnrichmentContext): string => {
  const lines: Array<string> = []
  if (context.prices.length > 0) {
    lines.push("Prices:")
    for (const q of context.prices) {
      lines.push(
        `- ${q.asset} (${q.symbol}): ${q.price} ${q.fiat.toUpperCase()}${percent(q.change24hPct)} — source ${q.source}, as of ${q.asOf}`
      )
    }
  }
  if (context.headlines.length > 0) {
    lines.push("Headlines:")
    for (const h of context.headlines) lines.push(`- ${h.title} — ${h.source}, ${h.publishedAt}`)
  }
  if (context.missing.length > 0) lines.push(`Not available now: ${context.missing.join("; ")}.`)
  return lines.length === 0 ? "No live market data was found for this question." : lines.join("\n")
}

/** The full system prompt an adapter sends. */
export const renderSystemPrompt = (request: LlmRequest): string =>
  `${request.system}\n\n` +
  "Live market context for this turn. Use only these figures for prices and news, mention how recent they are when " +
  "it matters, and if something the user asks about is missing or stale here, say so plainly rather than guess.\n" +
  (request.now === undefined ? "" : `Current time: ${request.now}.\n`) +
  renderContext(request.context)

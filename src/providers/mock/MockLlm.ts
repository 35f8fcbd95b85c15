// Mock LLM: a reply built from the enrichment context, streamed word by word at a configured rate
// after a configured first-token delay, all through Effect's Clock.
import { Effect, Layer, Stream } from "effect"
import type { MockSettings } from "../../config/MockSettings.ts"
import type { EnrichmentContext } from "../../domain/Enrichment.ts"
import { delta, Llm, type LlmChunk, type LlmRequest } from "../../pipeline/Llm.ts"

const moneyFormat = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2, minimumFractionDigits: 2 })
const money = (value: number, fiat: string) => `${moneyFormat.format(value)} ${fiat.toUpperCase()}`

/** The mock's whole reply for a context: deterministic, so tests can expect it exactly. */
export const mockReply = (context: EnrichmentContext): string => {
  const parts: Array<string> = []
  for (const quote of context.prices) {
    const change =
      quote.change24hPct === null
        ? ""
        : `, ${quote.change24hPct >= 0 ? "up" : "down"} ${Math.abs(quote.change24hPct).toFixed(1)} percent in 24 hours`
    parts.push(`${quote.asset} is at ${money(quote.price, quote.fiat)}${change}.`)
  }
  const top = context.headlines[0]
  if (top !== undefined) parts.push(`The latest headline from ${top.source}: ${top.title}.`)
  if (parts.length === 0) parts.push("I have no live market data for that right now.")
  if (context.missing.length > 0) parts.push(`Some data was unavailable: ${context.missing.join(", ")}.`)
  return parts.join(" ")
}

/** Splits a reply into word tokens that keep their trailing space, as LLM deltas do. */
export const tokenize = (text: string): Array<string> => text.match(/\S+\s*/g) ?? []

/** A rough count of prompt tokens (four characters a token), as a real provider would report it. */
const promptTokens = (request: LlmRequest) =>
  Math.ceil(
    (request.system.length +
      request.messages.reduce((n, m) => n + m.content.length, 0) +
      JSON.stringify(request.context).length) /
      4
  )

export const makeMockLlm = (settings: MockSettings): Llm["Service"] => ({
  provider: "mock",
  model: "mock-1",
  stream: (request) => {
    const tokens = tokenize(mockReply(request.context))
    const usage: LlmChunk = { _tag: "Usage", inputTokens: promptTokens(request), outputTokens: tokens.length }
    return Stream.fromIterable(tokens).pipe(
      Stream.mapEffect((token, index) =>
        Effect.as(
          Effect.sleep(index === 0 ? settings.llmFirstTokenDelayMs : 1000 / settings.llmTokensPerSecond),
          delta(token)
        )
      ),
      Stream.concat(Stream.make(usage))
    )
  }
})

export const layer = (settings: MockSettings) => Layer.succeed(Llm, makeMockLlm(settings))

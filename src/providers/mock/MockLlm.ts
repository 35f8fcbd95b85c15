// Mock LLM: a reply built from the enrichment context, streamed word by word at a configured rate
// after a configured first-token delay, each token at its due time from the request, all through Effect's Clock.
import { Clock, Effect, Layer, Stream } from "effect"
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
    // Token i is due at first-token delay + i / rate after the request, as a provider's stream would deliver it: a
    // timer that fires late here does not push the later tokens back.
    return Stream.unwrap(
      Effect.map(Clock.currentTimeMillis, (requestedAt) =>
        Stream.fromIterable(tokens).pipe(
          Stream.mapEffect((token, index) =>
            Effect.flatMap(Clock.currentTimeMillis, (now) =>
              Effect.as(
                Effect.sleep(
                  Math.max(
                    0,
                    requestedAt + settings.llmFirstTokenDelayMs + (index * 1000) / settings.llmTokensPerSecond - now
                  )
                ),
                delta(token)
              )
            )
          ),
          Stream.concat(Stream.make(usage))
        )
      )
    )
  }
})

export const layer = (settings: MockSettings) => Layer.succeed(Llm, makeMockLlm(settings))

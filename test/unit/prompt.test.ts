// The one system prompt every LLM adapter sends: the configured prompt, then the live context with each figure's
// source and as-of time, what is missing, and the rule to say so rather than guess.
import { assert, describe, it } from "@effect/vitest"
import { renderContext, renderSystemPrompt } from "../../src/pipeline/Prompt.ts"

const quote = {
  asset: "Bitcoin",
  symbol: "BTC",
  price: 97250.12,
  fiat: "usd",
  change24hPct: -1.5,
  source: "coingecko",
  asOf: "2026-11-26T10:00:00.000Z"
}

describe("Prompt", () => {
  it("prices and headlines carry their source and as-of time; missing data is named", () => {
    const text = renderContext({
      prices: [quote],
      headlines: [{ title: "ETF flows slow", url: "https://x", source: "Wire", publishedAt: "2026-11-26T09:00:00Z" }],
      missing: ["news (source unavailable)"]
    })
    assert.include(
      text,
      "Bitcoin (BTC): 97250.12 USD, -1.50 % in 24 h — source coingecko, as of 2026-11-26T10:00:00.000Z"
    )
    assert.include(text, "ETF flows slow — Wire, 2026-11-26T09:00:00Z")
    assert.include(text, "Not available now: news (source unavailable).")
  })

  it("an empty context says no live data was found", () => {
    assert.strictEqual(
      renderContext({ prices: [], headlines: [], missing: [] }),
      "No live market data was found for this question."
    )
  })

  it("the system prompt starts with the configured prompt and tells the model not to invent figures", () => {
    const prompt = renderSystemPrompt({
      system: "You are terse.",
      messages: [{ role: "user", content: "what about QUESTION-XYZ" }],
      context: { prices: [quote], headlines: [], missing: [] },
      now: "2026-11-26T10:05:00.000Z"
    })
    assert.isTrue(prompt.startsWith("You are terse.\n\n"))
    assert.include(prompt, "Current time: 2026-11-26T10:05:00.000Z.")
    assert.include(prompt, "say so plainly rather than guess")
    assert.include(prompt, "source coingecko")
    assert.notInclude(prompt, "QUESTION-XYZ", "the user's words go in the messages, not the system prompt")
  })
})

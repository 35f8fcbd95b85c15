// The mock LLM paces tokens like a provider's stream: each token is due at its own time from the request, so a
// consumer (or a timer) that runs late does not push the later tokens back.
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Fiber, Stream } from "effect"
import { TestClock } from "effect/testing"
import { MockDefaults } from "../../src/config/MockSettings.ts"
import { makeMockLlm } from "../../src/providers/mock/MockLlm.ts"

const settings = { ...MockDefaults, llmFirstTokenDelayMs: 300, llmTokensPerSecond: 50 }
const request = {
  system: "",
  messages: [{ role: "user" as const, content: "what is bitcoin doing" }],
  context: {
    prices: [
      {
        asset: "Bitcoin",
        symbol: "BTC",
        price: 97250.12,
        fiat: "usd",
        change24hPct: 2.3,
        source: "test",
        asOf: new Date(0).toISOString()
      }
    ],
    headlines: [{ title: "Markets wait", url: "https://example.com/a", source: "Wire", publishedAt: "" }],
    missing: []
  },
  now: new Date(0).toISOString()
}

describe("mock LLM pacing", () => {
  it.effect("tokens are due at first-token delay + i / rate; a late consumer gets the overdue ones at once", () =>
    Effect.gen(function* () {
      const arrivals: Array<number> = []
      const fiber = yield* makeMockLlm(settings)
        .stream(request)
        .pipe(
          Stream.filter((chunk) => chunk._tag === "Delta"),
          Stream.runForEach(() =>
            Effect.gen(function* () {
              arrivals.push(yield* Clock.currentTimeMillis)
              // The consumer is busy for 200 ms after the first token.
              if (arrivals.length === 1) yield* Effect.sleep(200)
            })
          ),
          Effect.forkChild
        )
      yield* TestClock.adjust(10_000)
      yield* Fiber.join(fiber)
      assert.isAbove(arrivals.length, 12)
      assert.strictEqual(arrivals[0], 300)
      // Tokens 2..11 fell due (320 … 500 ms) while the consumer was busy: they come as soon as it is free.
      for (let i = 1; i <= 10; i++) assert.strictEqual(arrivals[i], 500, `token ${i}`)
      // Later ones keep their own schedule.
      assert.strictEqual(arrivals[11], 520)
      assert.strictEqual(arrivals[12], 540)
    })
  )
})

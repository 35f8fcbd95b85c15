// The live enricher inside a real turn (pipeline/Reply.runReply with the mock LLM and TTS, the enricher wrapped by
// ResilientPorts as Providers.ts does): the `context` event carries the live price and the answer uses it; with every
// upstream hanging, the turn still proceeds within STREAM_ENRICHMENT_BUDGET_MS and the context names what is late.
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Layer } from "effect"
import { MockDefaults } from "../../src/config/MockSettings.ts"
import { PortPolicyDefaults } from "../../src/config/PortPolicy.ts"
import { DefaultOutputFormat } from "../../src/domain/Audio.ts"
import type { ServerEvent } from "../../src/domain/Protocol.ts"
import { makeLiveEnricher } from "../../src/enrichment/LiveEnricher.ts"
import { Enricher } from "../../src/pipeline/Enricher.ts"
import { Llm } from "../../src/pipeline/Llm.ts"
import { ReplyProgress, runReply } from "../../src/pipeline/Reply.ts"
import { resilientEnricher } from "../../src/pipeline/ResilientPorts.ts"
import { Tts } from "../../src/pipeline/Tts.ts"
import { makeMockLlm } from "../../src/providers/mock/MockLlm.ts"
import { makeMockTts } from "../../src/providers/mock/MockTts.ts"
import { type Fakes, fakes, liveServices, settingsFor } from "./support/Live.ts"

const Budget = 300
const quickMocks = { ...MockDefaults, llmFirstTokenDelayMs: 0, llmTokensPerSecond: 10_000, ttsFirstByteDelayMs: 0 }

/** Runs one typed turn through runReply with the live enricher; returns the events and the progress. */
const turn = (f: Fakes, userText: string) =>
  Effect.gen(function* () {
    const settings = yield* settingsFor(f, { budgetMs: Budget })
    const enricher = yield* Effect.flatMap(makeLiveEnricher(settings), (raw) =>
      resilientEnricher(raw, PortPolicyDefaults.enrichment)
    )
    const events: Array<ServerEvent> = []
    const progress = new ReplyProgress()
    const ports = Layer.mergeAll(
      Layer.succeed(Enricher, enricher),
      Layer.succeed(Llm, makeMockLlm(quickMocks)),
      Layer.succeed(Tts, makeMockTts(quickMocks))
    )
    yield* runReply(
      {
        turn: 1,
        userText,
        history: [],
        systemPrompt: "You are a test assistant.",
        outputFormat: DefaultOutputFormat,
        enrichmentBudgetMs: Budget,
        startedAt: yield* Clock.currentTimeMillis,
        sttMs: null
      },
      { event: (event) => Effect.sync(() => events.push(event)), audio: () => Effect.void },
      progress
    ).pipe(Effect.provide(ports))
    return { events, progress }
  })

const contextOf = (events: ReadonlyArray<ServerEvent>) => {
  const event = events.find((e) => e.type === "context")
  if (event?.type !== "context") throw new Error("no context event")
  return event.context
}

describe("live enrichment in a turn (runReply)", () => {
  it.live("'what is the price of bitcoin?': context event with the live price, and an answer that contains it", () =>
    Effect.gen(function* () {
      const f = yield* fakes
      const { events, progress } = yield* turn(f, "what is the price of bitcoin?")
      const context = contextOf(events)
      assert.deepStrictEqual(
        context.prices.map((p) => [p.symbol, p.price, p.source]),
        [["BTC", 97250.12, "coingecko"]]
      )
      assert.isAtMost(progress.enrichmentMs ?? Infinity, Budget)
      const done = events.find((e) => e.type === "response.done")
      assert.include(done?.type === "response.done" ? done.text : "", "97,250.12 USD")
    }).pipe(Effect.provide(liveServices()))
  )

  it.live("every upstream hanging: the turn proceeds within the budget, the late parts named by the enricher", () =>
    Effect.gen(function* () {
      const f = yield* fakes
      f.coingecko.always({ kind: "hang" })
      f.binance.always({ kind: "hang" })
      f.rss.always({ kind: "hang" })
      const { events, progress } = yield* turn(f, "what is the price of bitcoin?")
      assert.isAtMost(progress.enrichmentMs ?? Infinity, Budget)
      assert.deepStrictEqual(contextOf(events), {
        prices: [],
        headlines: [],
        missing: ["BTC price (not ready in time)", "news (not ready in time)"]
      })
      assert.isDefined(
        events.find((e) => e.type === "response.done"),
        "the turn went on"
      )
    }).pipe(Effect.provide(liveServices()))
  )
})

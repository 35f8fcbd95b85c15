// pipeline/Reply.runReply under TestClock with the mock ports as Providers.ts builds them (resilience guard and
// telemetry included): the text deltas reach the client in order and the reply text kept for the history is exactly
// what was queued for the client, also when the reply is cancelled while the client's outbox is full.
import { assert, describe, it } from "@effect/vitest"
import { Clock, Deferred, Effect, Fiber, Layer } from "effect"
import { TestClock } from "effect/testing"
import { MockDefaults } from "../../src/config/MockSettings.ts"
import { PortPolicyDefaults } from "../../src/config/PortPolicy.ts"
import { DefaultOutputFormat } from "../../src/domain/Audio.ts"
import type { ServerEvent } from "../../src/domain/Protocol.ts"
import { Enricher } from "../../src/pipeline/Enricher.ts"
import { Llm } from "../../src/pipeline/Llm.ts"
import { type ReplyIO, ReplyProgress, runReply } from "../../src/pipeline/Reply.ts"
import { resilientEnricher, resilientLlm, resilientTts } from "../../src/pipeline/ResilientPorts.ts"
import { Tts } from "../../src/pipeline/Tts.ts"
import { makeMockEnricher } from "../../src/providers/mock/MockEnricher.ts"
import { makeMockLlm, mockReply, tokenize } from "../../src/providers/mock/MockLlm.ts"
import { makeMockTts } from "../../src/providers/mock/MockTts.ts"

const mocks = { ...MockDefaults, enrichmentDelayMs: 0, llmFirstTokenDelayMs: 100, ttsFirstByteDelayMs: 50 }

const ports = Layer.mergeAll(
  Layer.effect(Enricher, resilientEnricher(makeMockEnricher(mocks), PortPolicyDefaults.enrichment)),
  Layer.effect(Llm, resilientLlm(makeMockLlm(mocks), PortPolicyDefaults.llm)),
  Layer.effect(Tts, resilientTts(makeMockTts(mocks), PortPolicyDefaults.tts))
)

const reply = (io: ReplyIO, progress: ReplyProgress) =>
  Effect.flatMap(Clock.currentTimeMillis, (startedAt) =>
    runReply(
      {
        turn: 1,
        userText: "what is the price of bitcoin?",
        history: [],
        systemPrompt: "You are a test assistant.",
        outputFormat: DefaultOutputFormat,
        enrichmentBudgetMs: 300,
        startedAt,
        sttMs: null
      },
      io,
      progress
    )
  )

const deltasOf = (events: ReadonlyArray<ServerEvent>) =>
  events.flatMap((e) => (e.type === "response.text.delta" ? [e.delta] : []))

describe("runReply", () => {
  it.effect("every LLM token goes to the client as a text delta, in order, and the history keeps them all", () =>
    Effect.gen(function* () {
      const events: Array<ServerEvent> = []
      const progress = new ReplyProgress()
      const fiber = yield* Effect.forkChild(
        reply({ event: (e) => Effect.sync(() => events.push(e)), audio: () => Effect.void }, progress)
      )
      yield* TestClock.adjust(60_000)
      const outcome = yield* Fiber.join(fiber)
      const context = events.find((e) => e.type === "context")
      const expected = tokenize(mockReply(context?.type === "context" ? context.context : (undefined as never)))
      assert.deepStrictEqual(deltasOf(events), expected)
      assert.strictEqual(progress.textSent, expected.join(""))
      assert.deepStrictEqual(outcome, { _tag: "Done", textSent: expected.join("") })
      assert.strictEqual(progress.llmDeltas, expected.length)
    }).pipe(Effect.provide(ports))
  )

  it.effect("cancelled while the client's outbox is full: the history keeps exactly the deltas queued for it", () =>
    Effect.gen(function* () {
      const queued: Array<string> = []
      const blocked = yield* Deferred.make<void>()
      const progress = new ReplyProgress()
      // The outbox takes three deltas, then is full: the fourth send waits (as Queue.offer does) until cancelled.
      const io: ReplyIO = {
        event: (e) =>
          e.type !== "response.text.delta"
            ? Effect.void
            : queued.length < 3
              ? Effect.sync(() => queued.push(e.delta))
              : Effect.andThen(Deferred.succeed(blocked, undefined), Effect.never),
        audio: () => Effect.void
      }
      const fiber = yield* Effect.forkChild(reply(io, progress))
      yield* TestClock.adjust(60_000)
      yield* Deferred.await(blocked)
      yield* Fiber.interrupt(fiber)
      assert.strictEqual(queued.length, 3)
      assert.strictEqual(progress.textSent, queued.join(""))
      assert.strictEqual(progress.llmDeltas, 3)
    }).pipe(Effect.provide(ports))
  )
})

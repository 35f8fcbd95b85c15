// The reply pipeline as the in-process benchmarks run it (bench/reply.ts, bench/replyLive.ts): the ports as
// Providers.ts builds them (mock enricher, LLM and TTS under their resilience guard and telemetry) with the given mock
// delays, and one turn of runReply for the same question, its events and audio handed to `io`.
import { Clock, Effect, Layer } from "effect"
import type { MockSettings } from "../../src/config/MockSettings.ts"
import { PortPolicyDefaults } from "../../src/config/PortPolicy.ts"
import { DefaultOutputFormat } from "../../src/domain/Audio.ts"
import { Enricher } from "../../src/pipeline/Enricher.ts"
import { Llm } from "../../src/pipeline/Llm.ts"
import { type ReplyIO, ReplyProgress, runReply } from "../../src/pipeline/Reply.ts"
import { resilientEnricher, resilientLlm, resilientTts } from "../../src/pipeline/ResilientPorts.ts"
import { Tts } from "../../src/pipeline/Tts.ts"
import { makeMockEnricher } from "../../src/providers/mock/MockEnricher.ts"
import { makeMockLlm } from "../../src/providers/mock/MockLlm.ts"
import { makeMockTts } from "../../src/providers/mock/MockTts.ts"

export const replyPorts = (mocks: MockSettings) =>
  Layer.mergeAll(
    Layer.effect(Enricher, resilientEnricher(makeMockEnricher(mocks), PortPolicyDefaults.enrichment)),
    Layer.effect(Llm, resilientLlm(makeMockLlm(mocks), PortPolicyDefaults.llm)),
    Layer.effect(Tts, resilientTts(makeMockTts(mocks), PortPolicyDefaults.tts))
  )

/** One typed turn ("what is the price of bitcoin?") through runReply, started now. */
export const oneReply = (turn: number, io: ReplyIO) =>
  Effect.flatMap(Clock.currentTimeMillis, (startedAt) =>
    runReply(
      {
        turn,
        userText: "what is the price of bitcoin?",
        history: [],
        systemPrompt: "You are a voice assistant.",
        outputFormat: DefaultOutputFormat,
        enrichmentBudgetMs: 300,
        startedAt,
        sttMs: 250
      },
      io,
      new ReplyProgress()
    )
  )

// Builds each port from configuration: every listed provider's adapter, under its own resilience guard (timeouts,
// retries, concurrency), chained in the configured fallback order with a circuit breaker each.
import { Effect, Layer } from "effect"
import { AppConfig } from "../config/AppConfig.ts"
import type { LlmProviderName, SttProviderName, TtsProviderName } from "../config/ProviderSettings.ts"
import { LiveEnricherServices } from "../enrichment/EnrichmentServices.ts"
import { makeLiveEnricher } from "../enrichment/LiveEnricher.ts"
import { Enricher } from "../pipeline/Enricher.ts"
import { Llm } from "../pipeline/Llm.ts"
import { chainLlm, chainStt, chainTts } from "../pipeline/ProviderChain.ts"
import { resilientEnricher, resilientLlm, resilientStt, resilientTts } from "../pipeline/ResilientPorts.ts"
import { Stt } from "../pipeline/Stt.ts"
import { Tts } from "../pipeline/Tts.ts"
import { makeAnthropicLlm } from "./anthropic/AnthropicLlm.ts"
import { makeDeepgramStt } from "./deepgram/DeepgramStt.ts"
import { makeDeepgramTts } from "./deepgram/DeepgramTts.ts"
import { makeMockEnricher } from "./mock/MockEnricher.ts"
import { makeMockLlm } from "./mock/MockLlm.ts"
import { makeMockStt } from "./mock/MockStt.ts"
import { makeMockTts } from "./mock/MockTts.ts"
import { makeOpenAiLlm } from "./openai/OpenAiLlm.ts"
import { makeOpenAiStt } from "./openai/OpenAiStt.ts"
import { makeOpenAiTts } from "./openai/OpenAiTts.ts"

type Settings = AppConfig["Service"]

// The SDKs' own timeouts bound the wait for a response to start; the resilience guard bounds everything after.
const sttAdapter = (name: SttProviderName, config: Settings): Stt["Service"] => {
  const timeoutMs = config.policies.stt.firstChunkTimeoutMs
  switch (name) {
    case "mock":
      return makeMockStt(config.mock)
    case "deepgram":
      return makeDeepgramStt(config.providers.deepgram, { connectTimeoutMs: timeoutMs })
    case "openai":
      return makeOpenAiStt(config.providers.openai, { timeoutMs, ...config.providers.endpointing })
  }
}

const llmAdapter = (name: LlmProviderName, config: Settings): Llm["Service"] => {
  const timeoutMs = config.policies.llm.firstChunkTimeoutMs
  switch (name) {
    case "mock":
      return makeMockLlm(config.mock)
    case "openai":
      return makeOpenAiLlm(config.providers.openai, { timeoutMs })
    case "anthropic":
      return makeAnthropicLlm(config.providers.anthropic, { timeoutMs })
  }
}

const ttsAdapter = (name: TtsProviderName, config: Settings): Tts["Service"] => {
  const timeoutMs = config.policies.tts.firstChunkTimeoutMs
  switch (name) {
    case "mock":
      return makeMockTts(config.mock)
    case "openai":
      return makeOpenAiTts(config.providers.openai, { timeoutMs })
    case "deepgram":
      return makeDeepgramTts(config.providers.deepgram, { timeoutMs })
  }
}

const withConfig = <A, E>(build: (config: Settings) => Effect.Effect<A, E>) =>
  Effect.flatMap(Effect.service(AppConfig), build)

const SttLive = Layer.effect(
  Stt,
  withConfig((config) =>
    Effect.forEach(config.providers.stt, (name) => resilientStt(sttAdapter(name, config), config.policies.stt)).pipe(
      Effect.map((providers) => chainStt(providers, config.circuit))
    )
  )
)

const LlmLive = Layer.effect(
  Llm,
  withConfig((config) =>
    Effect.forEach(config.providers.llm, (name) => resilientLlm(llmAdapter(name, config), config.policies.llm)).pipe(
      Effect.map((providers) => chainLlm(providers, config.circuit))
    )
  )
)

const TtsLive = Layer.effect(
  Tts,
  withConfig((config) =>
    Effect.forEach(config.providers.tts, (name) => resilientTts(ttsAdapter(name, config), config.policies.tts)).pipe(
      Effect.map((providers) => chainTts(providers, config.circuit))
    )
  )
)

const EnricherLive = Layer.effect(
  Enricher,
  Effect.gen(function* () {
    const config = yield* Effect.service(AppConfig)
    const raw =
      config.enrichment.mode === "live" ? yield* makeLiveEnricher(config.enrichment) : makeMockEnricher(config.mock)
    return yield* resilientEnricher(raw, config.policies.enrichment)
  })
).pipe(Layer.provide(LiveEnricherServices))

/** Every pipeline port, as configured. */
export const ProvidersLive = Layer.mergeAll(SttLive, LlmLive, TtsLive, EnricherLive)

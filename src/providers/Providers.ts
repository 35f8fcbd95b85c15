// Picks each port's adapter from configuration and wraps it in the resilience policy.
import { Effect, Layer } from "effect"
import { AppConfig } from "../config/AppConfig.ts"
import { Enricher } from "../pipeline/Enricher.ts"
import { Llm } from "../pipeline/Llm.ts"
import { resilientEnricher, resilientLlm, resilientStt, resilientTts } from "../pipeline/ResilientPorts.ts"
import { Stt } from "../pipeline/Stt.ts"
import { Tts } from "../pipeline/Tts.ts"
import { makeMockEnricher } from "./mock/MockEnricher.ts"
import { makeMockLlm } from "./mock/MockLlm.ts"
import { makeMockStt } from "./mock/MockStt.ts"
import { makeMockTts } from "./mock/MockTts.ts"

const SttLive = Layer.effect(
  Stt,
  Effect.gen(function* () {
    const config = yield* AppConfig
    // Only "mock" exists so far; AppConfig rejects any other value at startup.
    return yield* resilientStt(makeMockStt(config.mock), config.policies.stt)
  })
)

const LlmLive = Layer.effect(
  Llm,
  Effect.gen(function* () {
    const config = yield* AppConfig
    return yield* resilientLlm(makeMockLlm(config.mock), config.policies.llm)
  })
)

const TtsLive = Layer.effect(
  Tts,
  Effect.gen(function* () {
    const config = yield* AppConfig
    return yield* resilientTts(makeMockTts(config.mock), config.policies.tts)
  })
)

const EnricherLive = Layer.effect(
  Enricher,
  Effect.gen(function* () {
    const config = yield* AppConfig
    return yield* resilientEnricher(makeMockEnricher(config.mock), config.policies.enrichment)
  })
)

/** Every pipeline port, as configured. */
export const ProvidersLive = Layer.mergeAll(SttLive, LlmLive, TtsLive, EnricherLive)

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

// Only "mock" exists so far for every port; AppConfig refuses any other provider name at startup.
const withConfig = <A, E>(build: (config: AppConfig["Service"]) => Effect.Effect<A, E>) =>
  Effect.flatMap(Effect.service(AppConfig), build)

const SttLive = Layer.effect(
  Stt,
  withConfig((config) => resilientStt(makeMockStt(config.mock), config.policies.stt))
)
const LlmLive = Layer.effect(
  Llm,
  withConfig((config) => resilientLlm(makeMockLlm(config.mock), config.policies.llm))
)
const TtsLive = Layer.effect(
  Tts,
  withConfig((config) => resilientTts(makeMockTts(config.mock), config.policies.tts))
)
const EnricherLive = Layer.effect(
  Enricher,
  withConfig((config) => resilientEnricher(makeMockEnricher(config.mock), config.policies.enrichment))
)

/** Every pipeline port, as configured. */
export const ProvidersLive = Layer.mergeAll(SttLive, LlmLive, TtsLive, EnricherLive)

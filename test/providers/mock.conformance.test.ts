// The mock adapters pass the same conformance suites as the real ones.
import { describe } from "@effect/vitest"
import { Layer } from "effect"
import { MockDefaults } from "../../src/config/MockSettings.ts"
import { Llm } from "../../src/pipeline/Llm.ts"
import { Stt } from "../../src/pipeline/Stt.ts"
import { Tts } from "../../src/pipeline/Tts.ts"
import { makeMockLlm } from "../../src/providers/mock/MockLlm.ts"
import { makeMockStt } from "../../src/providers/mock/MockStt.ts"
import { makeMockTts } from "../../src/providers/mock/MockTts.ts"
import { llmConformance, sttConformance, ttsConformance } from "./conformance.ts"

const fast = {
  ...MockDefaults,
  sttFinalDelayMs: 5,
  llmFirstTokenDelayMs: 5,
  llmTokensPerSecond: 1000,
  ttsFirstByteDelayMs: 5
}

describe("mock adapters: conformance", () => {
  sttConformance(() => Layer.succeed(Stt, makeMockStt(fast)), { expectedText: fast.sttText })
  llmConformance(() => Layer.succeed(Llm, makeMockLlm(fast)))
  ttsConformance(() => Layer.succeed(Tts, makeMockTts(fast)))
})

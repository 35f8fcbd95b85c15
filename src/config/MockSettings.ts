// Settings of the mock providers: their texts and delays, so tests and benchmarks can set a realistic critical path.
import { Effect } from "effect"
import { intVar, stringVar } from "./readVar.ts"

export interface MockSettings {
  /** What mock STT "hears" in every utterance. */
  readonly sttText: string
  /** Trailing silence (of audio) that ends an utterance. */
  readonly sttEndpointSilenceMs: number
  /** Delay from end of speech (or input.commit) to the final transcript. */
  readonly sttFinalDelayMs: number
  /** A partial transcript every this many milliseconds of speech audio. */
  readonly sttPartialEveryMs: number
  /** RMS level (0..32767) at or above which a frame counts as speech. */
  readonly sttSpeechThreshold: number
  readonly llmFirstTokenDelayMs: number
  readonly llmTokensPerSecond: number
  readonly ttsFirstByteDelayMs: number
  /** Milliseconds of reply audio per character of text. */
  readonly ttsMsPerChar: number
  /** Size of each reply audio chunk, in milliseconds of audio. */
  readonly ttsChunkMs: number
  readonly enrichmentDelayMs: number
}

export const MockDefaults: MockSettings = {
  sttText: "What is the price of bitcoin today?",
  sttEndpointSilenceMs: 500,
  sttFinalDelayMs: 250,
  sttPartialEveryMs: 300,
  sttSpeechThreshold: 500,
  llmFirstTokenDelayMs: 300,
  llmTokensPerSecond: 30,
  ttsFirstByteDelayMs: 150,
  ttsMsPerChar: 60,
  ttsChunkMs: 100,
  enrichmentDelayMs: 20
}

export const readMockSettings = Effect.all({
  sttText: stringVar("STREAM_MOCK_STT_TEXT", MockDefaults.sttText),
  sttEndpointSilenceMs: intVar("STREAM_MOCK_STT_ENDPOINT_SILENCE_MS", MockDefaults.sttEndpointSilenceMs, 20),
  sttFinalDelayMs: intVar("STREAM_MOCK_STT_FINAL_DELAY_MS", MockDefaults.sttFinalDelayMs, 0),
  sttPartialEveryMs: intVar("STREAM_MOCK_STT_PARTIAL_EVERY_MS", MockDefaults.sttPartialEveryMs, 20),
  sttSpeechThreshold: intVar("STREAM_MOCK_STT_SPEECH_THRESHOLD", MockDefaults.sttSpeechThreshold, 1, 32767),
  llmFirstTokenDelayMs: intVar("STREAM_MOCK_LLM_FIRST_TOKEN_MS", MockDefaults.llmFirstTokenDelayMs, 0),
  llmTokensPerSecond: intVar("STREAM_MOCK_LLM_TOKENS_PER_SEC", MockDefaults.llmTokensPerSecond, 1, 100000),
  ttsFirstByteDelayMs: intVar("STREAM_MOCK_TTS_FIRST_BYTE_MS", MockDefaults.ttsFirstByteDelayMs, 0),
  ttsMsPerChar: intVar("STREAM_MOCK_TTS_MS_PER_CHAR", MockDefaults.ttsMsPerChar, 1, 1000),
  ttsChunkMs: intVar("STREAM_MOCK_TTS_CHUNK_MS", MockDefaults.ttsChunkMs, 10, 1000),
  enrichmentDelayMs: intVar("STREAM_MOCK_ENRICHMENT_DELAY_MS", MockDefaults.enrichmentDelayMs, 0)
})

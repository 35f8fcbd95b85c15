// Layers for pipeline and session tests: configuration from a record, mock ports, and counters that prove
// every provider stream a session opened was closed again.
import { ConfigProvider, Effect, Fiber, Layer, Scheduler, Stream } from "effect"
import { AppConfig } from "../../src/config/AppConfig.ts"
import type { StoreRecord } from "../../src/persistence/Records.ts"
import { SessionStore } from "../../src/persistence/SessionStore.ts"
import { Enricher } from "../../src/pipeline/Enricher.ts"
import { Llm } from "../../src/pipeline/Llm.ts"
import { Stt } from "../../src/pipeline/Stt.ts"
import { Tts } from "../../src/pipeline/Tts.ts"
import { ProvidersLive } from "../../src/providers/Providers.ts"

/** Round numbers, so expected latencies can be worked out by hand. */
export const TestEnv: Record<string, string> = {
  NODE_ENV: "test",
  JWT_SECRET: "test-secret-test-secret-test-secret-0123",
  STREAM_MOCK_STT_FINAL_DELAY_MS: "250",
  STREAM_MOCK_STT_ENDPOINT_SILENCE_MS: "500",
  STREAM_MOCK_STT_PARTIAL_EVERY_MS: "300",
  STREAM_MOCK_LLM_FIRST_TOKEN_MS: "300",
  STREAM_MOCK_LLM_TOKENS_PER_SEC: "50",
  STREAM_MOCK_TTS_FIRST_BYTE_MS: "150",
  STREAM_MOCK_TTS_MS_PER_CHAR: "60",
  STREAM_MOCK_TTS_CHUNK_MS: "100",
  STREAM_MOCK_ENRICHMENT_DELAY_MS: "20"
}

export const configLayer = (overrides: Record<string, string> = {}) =>
  AppConfig.layer.pipe(
    Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env: { ...TestEnv, ...overrides } })))
  )

/** Open provider streams and calls, by port: all must be back to zero once a session is over. */
export class OpenCounts {
  stt = 0
  llm = 0
  tts = 0
  enrich = 0
  opened = 0
  /** The class name of the fiber scheduler each provider stream was opened on. */
  readonly schedulers = new Set<string>()
  total() {
    return this.stt + this.llm + this.tts + this.enrich
  }
}

const counted = <A, E, R>(stream: Stream.Stream<A, E, R>, counts: OpenCounts, port: "stt" | "llm" | "tts") =>
  Stream.suspend(() => {
    counts[port]++
    counts.opened++
    counts.schedulers.add(Fiber.getCurrent()?.getRef(Scheduler.Scheduler).constructor.name ?? "no fiber")
    return stream.pipe(
      Stream.ensuring(
        Effect.sync(() => {
          counts[port]--
        })
      )
    )
  })

/** Wraps the ports below it so each open stream and call is counted. */
export const countingLayer = (counts: OpenCounts) =>
  Layer.mergeAll(
    Layer.effect(
      Stt,
      Effect.map(Effect.service(Stt), (stt) =>
        Stt.of({ ...stt, transcribe: (input, format) => counted(stt.transcribe(input, format), counts, "stt") })
      )
    ),
    Layer.effect(
      Llm,
      Effect.map(Effect.service(Llm), (llm) =>
        Llm.of({ ...llm, stream: (request) => counted(llm.stream(request), counts, "llm") })
      )
    ),
    Layer.effect(
      Tts,
      Effect.map(Effect.service(Tts), (tts) =>
        Tts.of({ ...tts, synthesize: (text, format) => counted(tts.synthesize(text, format), counts, "tts") })
      )
    ),
    Layer.effect(
      Enricher,
      Effect.map(Effect.service(Enricher), (enricher) =>
        Enricher.of({
          ...enricher,
          enrich: (text) =>
            Effect.suspend(() => {
              counts.enrich++
              return enricher.enrich(text).pipe(
                Effect.ensuring(
                  Effect.sync(() => {
                    counts.enrich--
                  })
                )
              )
            })
        })
      )
    )
  )

/** Config + mock providers (with the resilience policy), optionally counted, and an in-memory session store. */
export const pipelineLayer = (
  overrides: Record<string, string> = {},
  counts?: OpenCounts,
  records: Array<StoreRecord> = []
) => {
  const config = configLayer(overrides)
  const providers = ProvidersLive.pipe(Layer.provide(config))
  const ports = counts === undefined ? providers : countingLayer(counts).pipe(Layer.provide(providers))
  return Layer.mergeAll(ports, config, SessionStore.layerMemory(records))
}

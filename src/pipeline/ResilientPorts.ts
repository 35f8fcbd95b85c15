// Wraps raw provider adapters in the resilience policy, so the session only ever sees guarded ports. Each guarded call
// is also traced and counted per provider (observability/ProviderTelemetry.ts).
import { Effect, Semaphore, Stream } from "effect"
import type { PortPolicy } from "../config/PortPolicy.ts"
import { enrichmentTelemetry, llmTelemetry, sttTelemetry, ttsTelemetry } from "../observability/PortTelemetry.ts"
import { EnrichError, Enricher } from "./Enricher.ts"
import { Llm, LlmError } from "./Llm.ts"
import { guardEffect, guardStream } from "./Resilience.ts"
import { Stt } from "./Stt.ts"
import { Tts, TtsError } from "./Tts.ts"

export const resilientLlm = (raw: Llm["Service"], policy: PortPolicy) => {
  const telemetry = llmTelemetry(raw.provider, raw.model)
  return Effect.map(Semaphore.make(policy.concurrency), (permits) => {
    const guard = guardStream(policy, permits, (fields) => new LlmError(fields))
    return Llm.of({
      ...raw,
      stream: (request) => telemetry.call((attempt) => guard(() => attempt(raw.stream(request))))
    })
  }).pipe(Effect.tap(() => telemetry.register))
}

export const resilientTts = (raw: Tts["Service"], policy: PortPolicy) => {
  const telemetry = ttsTelemetry(raw.provider)
  return Effect.map(Semaphore.make(policy.concurrency), (permits) => {
    const guard = guardStream(policy, permits, (fields) => new TtsError(fields))
    return Tts.of({
      ...raw,
      synthesize: (text, format) =>
        telemetry.call(text, (attempt) => guard(() => attempt(raw.synthesize(text, format))))
    })
  }).pipe(Effect.tap(() => telemetry.register))
}

export const resilientEnricher = (raw: Enricher["Service"], policy: PortPolicy) => {
  const telemetry = enrichmentTelemetry(raw.provider)
  return Effect.map(Semaphore.make(policy.concurrency), (permits) => {
    const guard = guardEffect(policy, permits, (fields) => new EnrichError(fields))
    return Enricher.of({ ...raw, enrich: (text) => telemetry.call((attempt) => guard(attempt(raw.enrich(text)))) })
  }).pipe(Effect.tap(() => telemetry.register))
}

/** STT streams live as long as a session; they take a permit for that long. Restarts are the session's call. */
export const resilientStt = (raw: Stt["Service"], policy: PortPolicy) => {
  const telemetry = sttTelemetry(raw.provider)
  return Effect.map(Semaphore.make(policy.concurrency), (permits) =>
    Stt.of({
      ...raw,
      transcribe: (audio, format) =>
        telemetry.call((attempt) =>
          Stream.unwrap(
            Effect.as(
              Effect.acquireRelease(permits.take(1), () => permits.release(1)),
              attempt(raw.transcribe(telemetry.countAudio(audio, format), format))
            )
          )
        )
    })
  ).pipe(Effect.tap(() => telemetry.register))
}

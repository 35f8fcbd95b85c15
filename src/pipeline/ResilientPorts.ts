// Wraps raw provider adapters in the resilience policy, so the session only ever sees guarded ports.
import { Effect, Semaphore, Stream } from "effect"
import type { PortPolicy } from "../config/PortPolicy.ts"
import { EnrichError, Enricher } from "./Enricher.ts"
import { Llm, LlmError } from "./Llm.ts"
import { guardEffect, guardStream } from "./Resilience.ts"
import { Stt } from "./Stt.ts"
import { Tts, TtsError } from "./Tts.ts"

export const resilientLlm = (raw: Llm["Service"], policy: PortPolicy) =>
  Effect.map(Semaphore.make(policy.concurrency), (permits) => {
    const guard = guardStream(policy, permits, (fields) => new LlmError(fields))
    return Llm.of({ ...raw, stream: (request) => guard(() => raw.stream(request)) })
  })

export const resilientTts = (raw: Tts["Service"], policy: PortPolicy) =>
  Effect.map(Semaphore.make(policy.concurrency), (permits) => {
    const guard = guardStream(policy, permits, (fields) => new TtsError(fields))
    return Tts.of({ ...raw, synthesize: (text, format) => guard(() => raw.synthesize(text, format)) })
  })

export const resilientEnricher = (raw: Enricher["Service"], policy: PortPolicy) =>
  Effect.map(Semaphore.make(policy.concurrency), (permits) => {
    const guard = guardEffect(policy, permits, (fields) => new EnrichError(fields))
    return Enricher.of({ ...raw, enrich: (text) => guard(raw.enrich(text)) })
  })

/** STT streams live as long as a session; they take a permit for that long. Restarts are the session's call. */
export const resilientStt = (raw: Stt["Service"], policy: PortPolicy) =>
  Effect.map(Semaphore.make(policy.concurrency), (permits) =>
    Stt.of({
      ...raw,
      transcribe: (input, format) =>
        Stream.unwrap(
          Effect.as(
            Effect.acquireRelease(permits.take(1), () => permits.release(1)),
            raw.transcribe(input, format)
          )
        )
    })
  )

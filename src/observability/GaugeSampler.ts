// Keeps the sampled gauges current: process memory, CPU and event-loop delay, and the session store's backlog.
// Sampled every few seconds (for OTLP export) and again by GET /metrics before each scrape.
import { Context, Effect, Layer, Metric } from "effect"
import { AppConfig } from "../config/AppConfig.ts"
import { SessionStore } from "../persistence/SessionStore.ts"
import * as M from "./Metrics.ts"
import { makeProcessSampler } from "./ProcessMetrics.ts"

/** Length of an event-loop delay window, and how often the gauges are refreshed between scrapes. */
export const SampleIntervalMs = 5000

export class GaugeSampler extends Context.Service<GaugeSampler, { readonly sample: Effect.Effect<void> }>()(
  "voice-stream/observability/GaugeSampler"
) {
  static readonly layer = Layer.effect(
    GaugeSampler,
    Effect.gen(function* () {
      const config = yield* AppConfig
      const store = yield* SessionStore
      const process = yield* makeProcessSampler(config.observability.memoryLimitBytes)
      const sampleStore = Effect.flatMap(store.health, (health) =>
        Effect.all(
          [
            Metric.update(M.storePendingRecords, health.pending),
            Metric.update(M.storeSpilledRecords, health.spilled),
            Metric.update(M.storeDegraded, health.status === "degraded" ? 1 : 0),
            Metric.update(M.storeRejectedRecords, health.rejected)
          ],
          { discard: true }
        )
      )
      const sample = Effect.andThen(process.sample, sampleStore)
      yield* sample
      yield* process.sampleEventLoop
      yield* Effect.forkScoped(
        Effect.sleep(SampleIntervalMs).pipe(
          Effect.andThen(sample),
          Effect.andThen(process.sampleEventLoop),
          Effect.forever
        )
      )
      return GaugeSampler.of({ sample })
    })
  )
}

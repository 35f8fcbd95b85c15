// The observability layer under the whole server: a metrics registry of its own (so two servers in one process
// never mix counts), every known metric series registered at 0, what HTTP server spans may record, and OTLP export
// of spans and metrics when an endpoint is configured. Built first and released last, so the last spans get out.
import { Effect, Layer, Metric } from "effect"
import { AppConfig } from "../config/AppConfig.ts"
import { HttpTracingLive } from "./HttpTracing.ts"
import { otlpExport } from "./OtlpExport.ts"
import { registerSessionSeries } from "./SessionMetrics.ts"
import { registerTurnSeries } from "./TurnTelemetry.ts"

const MetricRegistryLive = Layer.sync(Metric.MetricRegistry, () => new Map())

const RegisteredSeries = Layer.effectDiscard(Effect.andThen(registerSessionSeries, registerTurnSeries))

export const ObservabilityLive = Layer.unwrap(
  Effect.map(Effect.service(AppConfig), (config) =>
    Layer.mergeAll(HttpTracingLive, RegisteredSeries, otlpExport(config.observability)).pipe(
      Layer.provideMerge(MetricRegistryLive)
    )
  )
)

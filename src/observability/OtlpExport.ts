// OTLP/HTTP export of spans and metrics through effect/observability, when an endpoint is configured: the tracer
// (behind the sampler) replaces Effect's no-op one, and the metrics registry is sent every OTEL_METRIC_EXPORT_INTERVAL.
// Both flush what they hold when the server stops.
import { Effect, Layer, Redacted, Tracer } from "effect"
import { FetchHttpClient } from "effect/http"
import { OtlpExporter, OtlpMetrics, OtlpSerialization, OtlpTracer } from "effect/observability"
import type { ObservabilitySettings, OtlpSettings } from "../config/ObservabilitySettings.ts"
import { withSampler } from "./Sampler.ts"

/** Longest the last export may take when the server stops. */
const ShutdownExportTimeoutMs = 3000

const transport = (otlp: OtlpSettings) =>
  Layer.mergeAll(
    otlp.protocol === "http/protobuf" ? OtlpSerialization.layerProtobuf : OtlpSerialization.layerJson,
    FetchHttpClient.layer,
    OtlpExporter.layerFlusher
  )

const tracing = (settings: ObservabilitySettings, otlp: OtlpSettings, url: string) =>
  Layer.effect(
    Tracer.Tracer,
    Effect.map(
      OtlpTracer.make({
        url,
        resource: { serviceName: settings.serviceName },
        headers: Redacted.value(otlp.headers),
        shutdownTimeout: ShutdownExportTimeoutMs
      }),
      (tracer) => withSampler(tracer, settings.sampler)
    )
  )

const metrics = (settings: ObservabilitySettings, otlp: OtlpSettings, url: string) =>
  Layer.effectDiscard(
    OtlpMetrics.make({
      url,
      resource: { serviceName: settings.serviceName },
      headers: Redacted.value(otlp.headers),
      exportInterval: otlp.metricsIntervalMs,
      shutdownTimeout: ShutdownExportTimeoutMs,
      temporality: "cumulative"
    })
  )

/** Nothing when no OTLP endpoint is set. The metrics registry must be provided below it. */
export const otlpExport = (settings: ObservabilitySettings) => {
  const otlp = settings.otlp
  if (otlp === undefined) return Layer.empty
  return Layer.mergeAll(
    otlp.tracesUrl === undefined ? Layer.empty : tracing(settings, otlp, otlp.tracesUrl),
    otlp.metricsUrl === undefined ? Layer.empty : metrics(settings, otlp, otlp.metricsUrl)
  ).pipe(Layer.provide(transport(otlp)))
}

// Observability settings and the small pure parts: which OTEL_* variables are read and how, the sampler, the
// /metrics bearer check, span names of routes, error stages.
import { ConfigProvider, Context, Effect, Option, Redacted, Tracer } from "effect"
import { describe, expect, it } from "vitest"
import { readObservabilitySettings } from "../../src/config/ObservabilitySettings.ts"
import { InvalidConfig } from "../../src/config/readVar.ts"
import { routeOf } from "../../src/observability/HttpTracing.ts"
import { bearerMatches } from "../../src/observability/MetricsRoute.ts"
import { withSampler } from "../../src/observability/Sampler.ts"
import { stageOfError } from "../../src/observability/SessionMetrics.ts"

const read = (env: Record<string, string>) =>
  Effect.runSync(
    Effect.provideService(readObservabilitySettings, ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env }))
  )

const failure = (env: Record<string, string>) => {
  const error = Effect.runSync(
    Effect.flip(
      Effect.provideService(readObservabilitySettings, ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env }))
    )
  )
  expect(error).toBeInstanceOf(InvalidConfig)
  return error
}

describe("ObservabilitySettings", () => {
  it("without an endpoint: no OTLP export, parent-based always-on sampling, no token, a memory limit", () => {
    const settings = read({})
    expect(settings.otlp).toBeUndefined()
    expect(settings.serviceName).toBe("voice-stream")
    expect(settings.sampler).toEqual({ name: "parentbased_always_on", ratio: 1 })
    expect(settings.metricsToken).toBeUndefined()
    expect(settings.memoryLimitBytes).toBeGreaterThan(0)
  })

  it("OTEL_EXPORTER_OTLP_ENDPOINT is a base: /v1/traces and /v1/metrics are appended to its path", () => {
    const otlp = read({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" }).otlp!
    expect(otlp.tracesUrl).toBe("http://collector:4318/v1/traces")
    expect(otlp.metricsUrl).toBe("http://collector:4318/v1/metrics")
    expect(otlp.protocol).toBe("http/json")
    expect(otlp.metricsIntervalMs).toBe(60000)
    const prefixed = read({ OTEL_EXPORTER_OTLP_ENDPOINT: "https://gw.example.com/otlp/" }).otlp!
    expect(prefixed.tracesUrl).toBe("https://gw.example.com/otlp/v1/traces")
  })

  it("per-signal endpoints are used as they are; OTEL_*_EXPORTER=none and OTEL_SDK_DISABLED switch export off", () => {
    const otlp = read({
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://t:4318/custom/traces",
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: "http://m:4318/custom/metrics",
      OTEL_METRIC_EXPORT_INTERVAL: "15000",
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf"
    }).otlp!
    expect([otlp.tracesUrl, otlp.metricsUrl]).toEqual(["http://t:4318/custom/traces", "http://m:4318/custom/metrics"])
    expect(otlp.metricsIntervalMs).toBe(15000)
    expect(otlp.protocol).toBe("http/protobuf")
    const base = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" }
    expect(read({ ...base, OTEL_TRACES_EXPORTER: "none" }).otlp?.tracesUrl).toBeUndefined()
    expect(read({ ...base, OTEL_METRICS_EXPORTER: "none" }).otlp?.metricsUrl).toBeUndefined()
    expect(read({ ...base, OTEL_SDK_DISABLED: "true" }).otlp).toBeUndefined()
  })

  it("OTEL_EXPORTER_OTLP_HEADERS: key=value pairs, percent-decoded, kept Redacted; a bad one never echoes values", () => {
    const otlp = read({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318",
      OTEL_EXPORTER_OTLP_HEADERS: "Authorization=Basic%20c2VjcmV0, x-tenant = acme"
    }).otlp!
    expect(Redacted.value(otlp.headers)).toEqual({ authorization: "Basic c2VjcmV0", "x-tenant": "acme" })
    expect(String(otlp.headers)).not.toContain("c2VjcmV0")
    const error = failure({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318",
      OTEL_EXPORTER_OTLP_HEADERS: "super-secret-value"
    })
    expect(error.variable).toBe("OTEL_EXPORTER_OTLP_HEADERS")
    expect(error.message).not.toContain("super-secret-value")
  })

  it("refuses a non-http endpoint, grpc, a ratio outside 0–1 and an unknown sampler", () => {
    expect(failure({ OTEL_EXPORTER_OTLP_ENDPOINT: "ftp://c:21" }).variable).toBe("OTEL_EXPORTER_OTLP_ENDPOINT")
    expect(
      failure({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" }).variable
    ).toBe("OTEL_EXPORTER_OTLP_PROTOCOL")
    expect(failure({ OTEL_TRACES_SAMPLER_ARG: "1.5" }).variable).toBe("OTEL_TRACES_SAMPLER_ARG")
    expect(failure({ OTEL_TRACES_SAMPLER: "jaeger_remote" }).variable).toBe("OTEL_TRACES_SAMPLER")
    expect(read({ OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.25" }).sampler).toEqual({
      name: "traceidratio",
      ratio: 0.25
    })
  })

  it("STREAM_METRICS_TOKEN (blank is unset), STREAM_MEMORY_LIMIT_MB, OTEL_SERVICE_NAME", () => {
    const settings = read({ STREAM_METRICS_TOKEN: " tok ", STREAM_MEMORY_LIMIT_MB: "512", OTEL_SERVICE_NAME: "vs-eu" })
    expect(Redacted.value(settings.metricsToken!)).toBe("tok")
    expect(settings.memoryLimitBytes).toBe(512 * 1024 * 1024)
    expect(settings.serviceName).toBe("vs-eu")
    expect(read({ STREAM_METRICS_TOKEN: "   " }).metricsToken).toBeUndefined()
  })
})

describe("the sampler", () => {
  const root = (sampler: Parameters<typeof withSampler>[1], parent?: Tracer.AnySpan) =>
    withSampler(Tracer.nativeTracer, sampler).span({
      name: "root",
      parent: Option.fromNullishOr(parent),
      annotations: Context.empty(),
      links: [],
      startTime: 0n,
      kind: "server",
      root: false,
      sampled: true
    })

  it("decides for new traces by name and ratio", () => {
    expect(root({ name: "always_on", ratio: 1 }).sampled).toBe(true)
    expect(root({ name: "always_off", ratio: 1 }).sampled).toBe(false)
    expect(root({ name: "traceidratio", ratio: 0 }).sampled).toBe(false)
    expect(root({ name: "traceidratio", ratio: 1 }).sampled).toBe(true)
    const kept = Array.from({ length: 2000 }, () => root({ name: "parentbased_traceidratio", ratio: 0.5 }).sampled)
    const share = kept.filter(Boolean).length / kept.length
    expect(share).toBeGreaterThan(0.4)
    expect(share).toBeLessThan(0.6)
  })

  it("parent-based samplers follow a caller's traceparent decision; a local parent's decision always passes down", () => {
    const external = (sampled: boolean) => Tracer.externalSpan({ spanId: "a", traceId: "b", sampled })
    expect(root({ name: "parentbased_always_off", ratio: 1 }, external(true)).sampled).toBe(true)
    expect(root({ name: "parentbased_always_on", ratio: 1 }, external(false)).sampled).toBe(false)
    const local = root({ name: "always_on", ratio: 1 })
    expect(root({ name: "always_off", ratio: 1 }, local).sampled).toBe(true)
  })
})

describe("small parts", () => {
  it("bearerMatches wants exactly `Bearer <token>`", () => {
    const token = Redacted.make("abc123")
    expect(bearerMatches("Bearer abc123", token)).toBe(true)
    expect(bearerMatches("bearer   abc123 ", token)).toBe(true)
    expect(bearerMatches("Bearer abc1234", token)).toBe(false)
    expect(bearerMatches("Bearer abc12", token)).toBe(false)
    expect(bearerMatches("Basic abc123", token)).toBe(false)
    expect(bearerMatches(undefined, token)).toBe(false)
    expect(bearerMatches("Bearer ", Redacted.make(""))).toBe(false)
  })

  it("server spans are named by route, never by URL", () => {
    expect(routeOf("/v1/stream?token=abc")).toBe("/v1/stream")
    expect(routeOf("/v1/sessions?limit=5")).toBe("/v1/sessions")
    expect(routeOf("/v1/sessions/7d6c6f1e-0000-4000-8000-000000000000")).toBe("/v1/sessions/:id")
    expect(routeOf("/wp-admin/setup.php")).toBe("unmatched")
  })

  it("error codes map to stages", () => {
    expect(stageOfError("no_speech")).toBe("stt")
    expect(stageOfError("stt_timeout")).toBe("stt")
    expect(stageOfError("llm_failed")).toBe("llm")
    expect(stageOfError("tts_timeout")).toBe("tts")
    expect(stageOfError("audio_dropped")).toBe("input")
    expect(stageOfError("invalid_json")).toBe("protocol")
    expect(stageOfError("internal_error")).toBe("internal")
  })
})

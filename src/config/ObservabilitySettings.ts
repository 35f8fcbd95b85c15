// Observability settings: OTLP export (the standard OTEL_* variables this server honours), the trace sampler, the
// bearer token of GET /metrics and the memory limit the memory alert compares against.

import { totalmem } from "node:os"
import { constrainedMemory } from "node:process"
import { Config, Effect, Option, Redacted } from "effect"
import { boolVar, InvalidConfig, intVar, oneOfVar, readVar, stringVar } from "./readVar.ts"

export const Samplers = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio"
] as const
export type SamplerName = (typeof Samplers)[number]

export const OtlpProtocols = ["http/json", "http/protobuf"] as const
export type OtlpProtocol = (typeof OtlpProtocols)[number]

export interface OtlpSettings {
  /** Where spans go (POST, OTLP/HTTP); undefined when OTEL_TRACES_EXPORTER=none. */
  readonly tracesUrl: string | undefined
  /** Where metrics go; undefined when OTEL_METRICS_EXPORTER=none. */
  readonly metricsUrl: string | undefined
  /** Sent with every export (usually an API key): never logged. */
  readonly headers: Redacted.Redacted<Readonly<Record<string, string>>>
  readonly protocol: OtlpProtocol
  readonly metricsIntervalMs: number
}

export interface ObservabilitySettings {
  /** service.name of exported spans and metrics. */
  readonly serviceName: string
  /** OTLP export; undefined when no endpoint is set (or OTEL_SDK_DISABLED=true). */
  readonly otlp: OtlpSettings | undefined
  /** Which root spans are kept: the OpenTelemetry sampler name and its ratio (0–1) for the *traceidratio ones. */
  readonly sampler: { readonly name: SamplerName; readonly ratio: number }
  /** When set, GET /metrics wants `Authorization: Bearer <token>`. */
  readonly metricsToken: Redacted.Redacted<string> | undefined
  /** What `voice_stream_process_memory_limit_bytes` reports: the memory alert fires at 80 % of it. */
  readonly memoryLimitBytes: number
}

const optionalText = (variable: string) => Effect.map(stringVar(variable, ""), (value) => value.trim())

/** An http(s) URL, or undefined when unset. */
const endpointVar = (variable: string) =>
  Effect.flatMap(optionalText(variable), (raw) => {
    if (raw.length === 0) return Effect.succeed(undefined)
    const url = URL.canParse(raw) ? new URL(raw) : undefined
    if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) {
      return Effect.fail(
        new InvalidConfig({
          variable,
          message: `${variable} must be an http:// or https:// URL such as http://127.0.0.1:4318`
        })
      )
    }
    return Effect.succeed(url.toString())
  })

/** `key=value,key2=value2`, values percent-decoded (the OTLP exporter convention). Values are never echoed. */
const headersVar = (variable: string) =>
  Effect.flatMap(readVar(variable, Config.option(Config.Redacted(variable))), (secret) => {
    const raw = Option.match(secret, { onNone: () => "", onSome: (r) => Redacted.value(r).trim() })
    const headers: Record<string, string> = {}
    for (const pair of raw.split(",").filter((p) => p.trim().length > 0)) {
      const at = pair.indexOf("=")
      const key = at > 0 ? pair.slice(0, at).trim() : ""
      let value: string | undefined
      try {
        value = at > 0 ? decodeURIComponent(pair.slice(at + 1).trim()) : undefined
      } catch {
        value = undefined
      }
      if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(key) || value === undefined) {
        return Effect.fail(
          new InvalidConfig({
            variable,
            message: `${variable} must be comma-separated key=value pairs with percent-encoded values`
          })
        )
      }
      headers[key.toLowerCase()] = value
    }
    return Effect.succeed(Redacted.make(headers as Readonly<Record<string, string>>))
  })

const exporterOn = (variable: string) =>
  Effect.map(oneOfVar(variable, ["otlp", "none"] as const, "otlp"), (value) => value === "otlp")

const otlpSettings = Effect.gen(function* () {
  if (yield* boolVar("OTEL_SDK_DISABLED", false)) return undefined
  const base = yield* endpointVar("OTEL_EXPORTER_OTLP_ENDPOINT")
  const traces = (yield* endpointVar("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")) ?? withPath(base, "v1/traces")
  const metrics = (yield* endpointVar("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")) ?? withPath(base, "v1/metrics")
  if (traces === undefined && metrics === undefined) return undefined
  const settings: OtlpSettings = {
    tracesUrl: (yield* exporterOn("OTEL_TRACES_EXPORTER")) ? traces : undefined,
    metricsUrl: (yield* exporterOn("OTEL_METRICS_EXPORTER")) ? metrics : undefined,
    headers: yield* headersVar("OTEL_EXPORTER_OTLP_HEADERS"),
    protocol: yield* oneOfVar("OTEL_EXPORTER_OTLP_PROTOCOL", OtlpProtocols, "http/json"),
    metricsIntervalMs: yield* intVar("OTEL_METRIC_EXPORT_INTERVAL", 60000, 100, 3_600_000)
  }
  return settings
})

/** A base endpoint with the signal's path appended: http://collector:4318 → http://collector:4318/v1/traces. */
const withPath = (base: string | undefined, path: string) =>
  base === undefined ? undefined : new URL(path, base.endsWith("/") ? base : `${base}/`).toString()

const samplerRatio = Effect.flatMap(optionalText("OTEL_TRACES_SAMPLER_ARG"), (raw) => {
  if (raw.length === 0) return Effect.succeed(1)
  const ratio = /^(0|1|0?\.\d+|1\.0*)$/.test(raw) ? Number(raw) : Number.NaN
  return Number.isFinite(ratio) && ratio >= 0 && ratio <= 1
    ? Effect.succeed(ratio)
    : Effect.fail(
        new InvalidConfig({
          variable: "OTEL_TRACES_SAMPLER_ARG",
          message: `OTEL_TRACES_SAMPLER_ARG must be a ratio from 0 to 1 such as 0.25; got ${raw}`
        })
      )
})

const metricsToken = Effect.map(
  readVar("STREAM_METRICS_TOKEN", Config.option(Config.Redacted("STREAM_METRICS_TOKEN"))),
  (token) =>
    Option.getOrUndefined(
      Option.filter(
        Option.map(token, (r) => Redacted.value(r).trim()),
        (s) => s.length > 0
      ).pipe(Option.map((s) => Redacted.make(s)))
    )
)

/** The container's memory limit when it has one (cgroup), else the machine's memory. */
const defaultMemoryLimitBytes = () => {
  const constrained = constrainedMemory()
  const total = totalmem()
  return constrained > 0 && constrained < total ? constrained : total
}

const memoryLimitBytes = Effect.map(intVar("STREAM_MEMORY_LIMIT_MB", 0, 0, 16 * 1024 * 1024), (mb) =>
  mb > 0 ? mb * 1024 * 1024 : defaultMemoryLimitBytes()
)

export const readObservabilitySettings: Effect.Effect<ObservabilitySettings, InvalidConfig> = Effect.all({
  serviceName: Effect.map(optionalText("OTEL_SERVICE_NAME"), (name) => (name.length > 0 ? name : "voice-stream")),
  otlp: otlpSettings,
  sampler: Effect.all({
    name: oneOfVar("OTEL_TRACES_SAMPLER", Samplers, "parentbased_always_on"),
    ratio: samplerRatio
  }),
  metricsToken,
  memoryLimitBytes
})

// Every setting the server reads, from the environment (and .env), with defaults and validation.
// .env.example and docs/configuration.md list the same variables; keep the three in step.
import { readFileSync } from "node:fs"
import { Config, Context, Effect, Layer, Option, Redacted } from "effect"
import { type SampleRate, SupportedSampleRates } from "../domain/Audio.ts"
import type { CircuitBreakerSettings } from "../pipeline/CircuitBreaker.ts"
import { type DatabaseSettings, readDatabaseSettings } from "./DatabaseSettings.ts" // persistence (issue 3)
import { type EnrichmentSettings, readEnrichmentSettings } from "./EnrichmentSettings.ts"
import { type MockSettings, readMockSettings } from "./MockSettings.ts"
import { type ObservabilitySettings, readObservabilitySettings } from "./ObservabilitySettings.ts" // observability (issue 6)
import { type PortName, type PortPolicy, readPortPolicy } from "./PortPolicy.ts"
import { type ProtectionSettings, readProtectionSettings } from "./ProtectionSettings.ts" // protection (issue 7)
import { type ProviderSettings, readProviderSettings } from "./ProviderSettings.ts"
import { boolVar, InvalidConfig, intVar, oneOfVar, readVar, stringVar } from "./readVar.ts"
import { readStoreSettings, type StoreSettings } from "./StoreSettings.ts"

export const NodeEnvs = ["development", "production", "test"] as const
export const LogLevels = ["debug", "info", "warn", "error"] as const
const toLogLevel = { debug: "Debug", info: "Info", warn: "Warn", error: "Error" } as const
export type NodeEnv = (typeof NodeEnvs)[number]

/** Smallest JWT secret accepted in production, in bytes (HS256 wants at least 256 bits). */
export const MinJwtSecretBytes = 32

/** Used only outside production when JWT_SECRET is unset; the server warns loudly when it does. */
export const DevelopmentJwtSecret = "voice-stream-development-secret-do-not-use-in-production"

export const DefaultSystemPrompt =
  "You are a concise voice assistant for a crypto-trading app. Answer in one to three short spoken sentences. " +
  "Use only the live market context you are given for prices and news, say when it is missing or stale, " +
  "and never invent figures."

export interface AppSettings {
  readonly nodeEnv: NodeEnv
  readonly host: string
  readonly port: number
  readonly jwtSecret: Redacted.Redacted<string>
  /** True when JWT_SECRET was not set and the development secret is in use. */
  readonly jwtSecretIsDefault: boolean
  /** "*" allows any Origin; otherwise the exact origins allowed. Requests without an Origin header are allowed. */
  readonly corsOrigins: "*" | ReadonlyArray<string>
  readonly maxConcurrentSessions: number
  readonly maxSessionsPerUser: number
  readonly maxFrameBytes: number
  readonly badMessageLimit: number
  readonly badMessageWindowMs: number
  readonly historyMaxTurns: number
  readonly shutdownGraceMs: number
  /** Each port's providers in fallback order, and the vendors' keys, URLs and models. */
  readonly providers: ProviderSettings
  /** A provider failing this many calls in a row is skipped for the cool-down (its circuit is open). */
  readonly circuit: CircuitBreakerSettings
  /** The enrichment sources: `mock`, or `live` prices and news with their cache and politeness settings. */
  readonly enrichment: EnrichmentSettings
  readonly defaultOutputSampleRate: SampleRate
  readonly systemPrompt: string
  readonly policies: Readonly<Record<PortName, PortPolicy>>
  readonly mock: MockSettings
  /** Persistence (issue 3): PostgreSQL URL or embedded PGlite, data folder, auto-migration. */
  readonly database: DatabaseSettings
  readonly store: StoreSettings
  /** OTLP export, trace sampling, the /metrics token, the memory limit of the memory alert (issue 6). */
  readonly observability: ObservabilitySettings
  /** Rate limits, Redis, per-user leases, idle timeout, outbound buffer and ping (issue 7). */
  readonly protection: ProtectionSettings
  readonly debug: boolean
  readonly logLevel: (typeof toLogLevel)[keyof typeof toLogLevel]
}

export class AppConfig extends Context.Service<AppConfig, AppSettings>()("voice-stream/config/AppConfig") {
  /** Reads and validates the settings from the current ConfigProvider; fails with InvalidConfig. */
  static readonly layer = Layer.effect(
    AppConfig,
    Effect.suspend(() => loadSettings)
  )
  /** Logs warnings about development-only settings, once, under the configured logger. */
  static readonly warnings = Layer.effectDiscard(Effect.flatMap(Effect.service(AppConfig), (s) => warnAboutSettings(s)))
}

const corsOrigins = (variable: string) =>
  stringVar(variable, "*").pipe(
    Effect.flatMap((raw): Effect.Effect<"*" | ReadonlyArray<string>, InvalidConfig> => {
      const list = raw
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s.length > 0)
      if (list.includes("*")) return Effect.succeed("*" as const)
      const bad = list.find((origin) => !/^https?:\/\/[^/\s]+$/.test(origin))
      return bad === undefined && list.length > 0
        ? Effect.succeed(list as ReadonlyArray<string>)
        : Effect.fail(
            new InvalidConfig({
              variable,
              message: `${variable} must be "*" or a comma-separated list of origins like https://app.example.com; got ${JSON.stringify(bad ?? raw)}`
            })
          )
    })
  )

const sampleRate = (variable: string, fallback: SampleRate) =>
  intVar(variable, fallback, 8000, 48000).pipe(
    Effect.filterOrFail(
      (n): n is SampleRate => (SupportedSampleRates as ReadonlyArray<number>).includes(n),
      (n) =>
        new InvalidConfig({
          variable,
          message: `${variable}=${n} is not supported; allowed: ${SupportedSampleRates.join(", ")}`
        })
    )
  )

const jwtSecret = (nodeEnv: NodeEnv) =>
  readVar("JWT_SECRET", Config.option(Config.Redacted("JWT_SECRET"))).pipe(
    Effect.flatMap((secret) => {
      const value = Option.map(secret, Redacted.value).pipe(Option.filter((s) => s.length > 0))
      const bytes = Option.match(value, { onNone: () => 0, onSome: (s) => Buffer.byteLength(s, "utf8") })
      if (nodeEnv === "production" && bytes < MinJwtSecretBytes) {
        return Effect.fail(
          new InvalidConfig({
            variable: "JWT_SECRET",
            message: Option.isNone(value)
              ? "JWT_SECRET is required in production (at least 32 random bytes, e.g. `openssl rand -base64 48`)"
              : `JWT_SECRET is too weak for production: ${bytes} bytes, at least ${MinJwtSecretBytes} required`
          })
        )
      }
      return Effect.succeed(
        Option.match(value, {
          onNone: () => ({ secret: Redacted.make(DevelopmentJwtSecret), isDefault: true }),
          onSome: (s) => ({ secret: Redacted.make(s), isDefault: false })
        })
      )
    })
  )

const portPolicies = Effect.all({
  stt: readPortPolicy("stt"),
  llm: readPortPolicy("llm"),
  tts: readPortPolicy("tts"),
  enrichment: readPortPolicy("enrichment")
})

/** STREAM_SYSTEM_PROMPT_FILE (a UTF-8 text file) wins over STREAM_SYSTEM_PROMPT; both fall back to the default. */
const systemPrompt = Effect.gen(function* () {
  const file = (yield* stringVar("STREAM_SYSTEM_PROMPT_FILE", "")).trim()
  if (file.length === 0) return yield* stringVar("STREAM_SYSTEM_PROMPT", DefaultSystemPrompt)
  const text = yield* Effect.try({
    try: () => readFileSync(file, "utf8").trim(),
    catch: (error) =>
      new InvalidConfig({
        variable: "STREAM_SYSTEM_PROMPT_FILE",
        message: `STREAM_SYSTEM_PROMPT_FILE=${file} cannot be read: ${(error as Error).message}`
      })
  })
  if (text.length === 0) {
    return yield* new InvalidConfig({ variable: "STREAM_SYSTEM_PROMPT_FILE", message: `${file} is empty` })
  }
  return text
})

export const loadSettings: Effect.Effect<AppSettings, InvalidConfig> = Effect.gen(function* () {
  const nodeEnv = yield* oneOfVar("NODE_ENV", NodeEnvs, "development")
  const secret = yield* jwtSecret(nodeEnv)
  const origins = yield* corsOrigins("STREAM_CORS_ORIGIN")
  if (nodeEnv === "production" && origins === "*") {
    return yield* new InvalidConfig({
      variable: "STREAM_CORS_ORIGIN",
      message: "STREAM_CORS_ORIGIN=* is refused in production: list the app origins allowed to connect"
    })
  }
  const port = yield* intVar("STREAM_WS_PORT", 3001, 0, 65535)
  const settings: AppSettings = {
    nodeEnv,
    host: yield* stringVar("STREAM_HOST", "0.0.0.0"),
    port,
    jwtSecret: secret.secret,
    jwtSecretIsDefault: secret.isDefault,
    corsOrigins: origins,
    maxConcurrentSessions: yield* intVar("STREAM_MAX_CONCURRENT_SESSIONS", 200, 1),
    maxSessionsPerUser: yield* intVar("STREAM_MAX_SESSIONS_PER_USER", 3, 1),
    maxFrameBytes: yield* intVar("STREAM_MAX_FRAME_BYTES", 65536, 1024, 16 * 1024 * 1024),
    badMessageLimit: yield* intVar("STREAM_BAD_MESSAGE_LIMIT", 10, 1),
    badMessageWindowMs: yield* intVar("STREAM_BAD_MESSAGE_WINDOW_MS", 10000, 1),
    historyMaxTurns: yield* intVar("STREAM_HISTORY_MAX_TURNS", 20, 1, 1000),
    shutdownGraceMs: yield* intVar("STREAM_SHUTDOWN_GRACE_MS", 10000, 0, 600000),
    providers: yield* readProviderSettings,
    circuit: {
      failureThreshold: yield* intVar("STREAM_CIRCUIT_FAILURES", 3, 1, 1000),
      cooldownMs: yield* intVar("STREAM_CIRCUIT_COOLDOWN_MS", 30000, 0)
    },
    enrichment: yield* readEnrichmentSettings,
    defaultOutputSampleRate: yield* sampleRate("STREAM_OUTPUT_SAMPLE_RATE", 24000),
    systemPrompt: yield* systemPrompt,
    policies: yield* portPolicies,
    mock: yield* readMockSettings,
    database: yield* readDatabaseSettings, // persistence (issue 3)
    store: yield* readStoreSettings(port),
    observability: yield* readObservabilitySettings, // observability (issue 6)
    protection: yield* readProtectionSettings, // protection (issue 7)
    debug: yield* boolVar("STREAM_DEBUG", false),
    logLevel: toLogLevel[yield* oneOfVar("STREAM_LOG_LEVEL", LogLevels, "info")]
  }
  return settings
})

/** Loud warnings for settings that are fine in development and refused in production. Never prints a secret. */
export const warnAboutSettings = (settings: AppSettings): Effect.Effect<void> =>
  Effect.gen(function* () {
    if (settings.jwtSecretIsDefault) {
      yield* Effect.logWarning(
        "JWT_SECRET is not set: using the built-in DEVELOPMENT secret. Anyone can mint tokens for this server. " +
          "Set JWT_SECRET (32+ random bytes) before exposing it; NODE_ENV=production refuses to start without one."
      )
    } else if (Buffer.byteLength(Redacted.value(settings.jwtSecret), "utf8") < MinJwtSecretBytes) {
      yield* Effect.logWarning(
        `JWT_SECRET is shorter than ${MinJwtSecretBytes} bytes; production refuses such a secret.`
      )
    }
    if (settings.corsOrigins === "*" && settings.nodeEnv !== "production") {
      yield* Effect.logWarning("STREAM_CORS_ORIGIN=* lets any web page connect; production refuses it.")
    }
  })

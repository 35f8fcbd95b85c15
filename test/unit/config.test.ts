// Settings (src/config/AppConfig.ts): defaults, validation that names the variable, production rules, warnings.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Logger, Redacted } from "effect"
import {
  AppConfig,
  DefaultSystemPrompt,
  DevelopmentJwtSecret,
  loadSettings,
  MinJwtSecretBytes,
  warnAboutSettings
} from "../../src/config/AppConfig.ts"
import { MockDefaults } from "../../src/config/MockSettings.ts"
import { PortPolicyDefaults } from "../../src/config/PortPolicy.ts"
import { InvalidConfig } from "../../src/config/readVar.ts"

type Env = Record<string, string>

const withEnv =
  (env: Env) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    Effect.provideService(effect, ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env }))

const load = (env: Env) => loadSettings.pipe(Effect.tap(warnAboutSettings), withEnv(env))

/** Loads with env and returns the InvalidConfig it fails with (fails the test if loading succeeded). */
const failure = (env: Env) =>
  Effect.gen(function* () {
    const error = yield* Effect.flip(load(env))
    assert.instanceOf(error, InvalidConfig)
    assert.strictEqual(error._tag, "InvalidConfig")
    return error
  })

const strongSecret = "s3cr3t-".repeat(6).slice(0, 40) // 40 bytes
const productionOk: Env = {
  NODE_ENV: "production",
  JWT_SECRET: strongSecret,
  STREAM_CORS_ORIGIN: "https://app.example.com, https://admin.example.com"
}

interface Logged {
  readonly level: string
  readonly text: string
}

/** Runs an effect with a logger that records every log line (and no other logger). */
const captureLogs = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const logs: Array<Logged> = []
    const logger = Logger.make((options) => {
      const parts = Array.isArray(options.message) ? options.message : [options.message]
      logs.push({ level: options.logLevel, text: parts.map(String).join(" ") })
    })
    const value = yield* effect.pipe(Effect.provide(Logger.layer([logger])))
    return { value, logs }
  })

describe("loadSettings defaults", () => {
  it.effect("an empty environment gives the documented defaults", () =>
    Effect.gen(function* () {
      const settings = yield* load({})
      assert.strictEqual(settings.nodeEnv, "development")
      assert.strictEqual(settings.host, "0.0.0.0")
      assert.strictEqual(settings.port, 3001)
      assert.deepStrictEqual(settings.providers.stt, ["mock"])
      assert.deepStrictEqual(settings.providers.llm, ["mock"])
      assert.deepStrictEqual(settings.providers.tts, ["mock"])
      assert.strictEqual(settings.enrichment.mode, "mock")
      assert.isTrue(settings.jwtSecretIsDefault)
      assert.strictEqual(Redacted.value(settings.jwtSecret), DevelopmentJwtSecret)
      assert.strictEqual(settings.corsOrigins, "*")
      assert.strictEqual(settings.maxConcurrentSessions, 200)
      assert.strictEqual(settings.maxSessionsPerUser, 3)
      assert.strictEqual(settings.maxFrameBytes, 65536)
      assert.strictEqual(settings.badMessageLimit, 10)
      assert.strictEqual(settings.badMessageWindowMs, 10000)
      assert.strictEqual(settings.historyMaxTurns, 20)
      assert.strictEqual(settings.enrichment.budgetMs, 300)
      assert.strictEqual(settings.shutdownGraceMs, 10000)
      assert.strictEqual(settings.defaultOutputSampleRate, 24000)
      assert.strictEqual(settings.systemPrompt, DefaultSystemPrompt)
      assert.isFalse(settings.debug)
      assert.deepStrictEqual(settings.policies, PortPolicyDefaults)
      assert.deepStrictEqual(settings.mock, MockDefaults)
    })
  )

  it.effect("reads set values", () =>
    Effect.gen(function* () {
      const settings = yield* load({
        NODE_ENV: "test",
        STREAM_HOST: "127.0.0.1",
        STREAM_WS_PORT: "8080",
        JWT_SECRET: strongSecret,
        STREAM_CORS_ORIGIN: "https://app.example.com,http://localhost:5173",
        STREAM_MAX_CONCURRENT_SESSIONS: "5",
        STREAM_OUTPUT_SAMPLE_RATE: "16000",
        STREAM_SYSTEM_PROMPT: "Be brief.",
        STREAM_DEBUG: "true",
        STREAM_LLM_PROVIDER: " mock ",
        STREAM_MOCK_STT_TEXT: "hello"
      })
      assert.strictEqual(settings.nodeEnv, "test")
      assert.strictEqual(settings.host, "127.0.0.1")
      assert.strictEqual(settings.port, 8080)
      assert.isFalse(settings.jwtSecretIsDefault)
      assert.strictEqual(Redacted.value(settings.jwtSecret), strongSecret)
      assert.deepStrictEqual(settings.corsOrigins, ["https://app.example.com", "http://localhost:5173"])
      assert.strictEqual(settings.maxConcurrentSessions, 5)
      assert.strictEqual(settings.defaultOutputSampleRate, 16000)
      assert.strictEqual(settings.systemPrompt, "Be brief.")
      assert.isTrue(settings.debug)
      assert.deepStrictEqual(settings.providers.llm, ["mock"], "surrounding spaces are trimmed")
      assert.strictEqual(settings.mock.sttText, "hello")
    })
  )

  it.effect("port 0 (any free port) and 65535 are accepted", () =>
    Effect.gen(function* () {
      assert.strictEqual((yield* load({ STREAM_WS_PORT: "0" })).port, 0)
      assert.strictEqual((yield* load({ STREAM_WS_PORT: "65535" })).port, 65535)
    })
  )

  it.effect('a "*" anywhere in STREAM_CORS_ORIGIN means any origin', () =>
    Effect.gen(function* () {
      assert.strictEqual((yield* load({ STREAM_CORS_ORIGIN: "https://app.example.com, *" })).corsOrigins, "*")
    })
  )

  it.effect("STREAM_DEBUG accepts the documented boolean spellings", () =>
    Effect.gen(function* () {
      for (const yes of ["true", "1", "yes", "on"]) assert.isTrue((yield* load({ STREAM_DEBUG: yes })).debug, yes)
      for (const no of ["false", "0", "no", "off"]) assert.isFalse((yield* load({ STREAM_DEBUG: no })).debug, no)
    })
  )

  it.effect("AppConfig.layer provides the same settings", () =>
    Effect.gen(function* () {
      const settings = yield* Effect.service(AppConfig).pipe(
        Effect.provide(AppConfig.layer),
        withEnv({ STREAM_WS_PORT: "4000" })
      )
      assert.strictEqual(settings.port, 4000)
      const error = yield* Effect.service(AppConfig).pipe(
        Effect.provide(AppConfig.layer),
        withEnv({ STREAM_WS_PORT: "nope" }),
        Effect.flip
      )
      assert.strictEqual(error.variable, "STREAM_WS_PORT")
    })
  )
})

describe("loadSettings rejects invalid values with an InvalidConfig naming the variable", () => {
  it.effect("STREAM_WS_PORT=abc", () =>
    Effect.gen(function* () {
      const error = yield* failure({ STREAM_WS_PORT: "abc" })
      assert.strictEqual(error.variable, "STREAM_WS_PORT")
      assert.include(error.message, "STREAM_WS_PORT")
      assert.notInclude(error.message, "\n", "one line")
    })
  )

  it.effect("STREAM_WS_PORT=70000 (out of range; the message gives the range and the value)", () =>
    Effect.gen(function* () {
      const error = yield* failure({ STREAM_WS_PORT: "70000" })
      assert.strictEqual(error.variable, "STREAM_WS_PORT")
      assert.include(error.message, "0 to 65535")
      assert.include(error.message, "70000")
    })
  )

  it.effect("STREAM_WS_PORT=-1 and a fractional port", () =>
    Effect.gen(function* () {
      assert.strictEqual((yield* failure({ STREAM_WS_PORT: "-1" })).variable, "STREAM_WS_PORT")
      assert.strictEqual((yield* failure({ STREAM_WS_PORT: "3001.5" })).variable, "STREAM_WS_PORT")
    })
  )

  it.effect("STREAM_MAX_CONCURRENT_SESSIONS=0", () =>
    Effect.gen(function* () {
      const error = yield* failure({ STREAM_MAX_CONCURRENT_SESSIONS: "0" })
      assert.strictEqual(error.variable, "STREAM_MAX_CONCURRENT_SESSIONS")
      assert.include(error.message, "from 1")
      assert.include(error.message, "got 0")
    })
  )

  it.effect("STREAM_STT_PROVIDER=whisperx (the message lists the allowed providers)", () =>
    Effect.gen(function* () {
      const error = yield* failure({ STREAM_STT_PROVIDER: "deepgram,whisperx" })
      assert.strictEqual(error.variable, "STREAM_STT_PROVIDER")
      assert.include(error.message, '"whisperx"')
      assert.include(error.message, "allowed: mock, deepgram, openai")
    })
  )

  it.effect("a selected provider without its key is an error naming the key's variable", () =>
    Effect.gen(function* () {
      const stt = yield* failure({ STREAM_STT_PROVIDER: "deepgram,openai", DEEPGRAM_API_KEY: "dg-key" })
      assert.strictEqual(stt.variable, "OPENAI_API_KEY")
      assert.include(stt.message, "STREAM_STT_PROVIDER")
      const llm = yield* failure({ STREAM_LLM_PROVIDER: "anthropic" })
      assert.strictEqual(llm.variable, "ANTHROPIC_API_KEY")
      const ok = yield* load({
        STREAM_STT_PROVIDER: "deepgram, openai",
        STREAM_LLM_PROVIDER: "openai,anthropic",
        STREAM_TTS_PROVIDER: "openai,deepgram,mock",
        DEEPGRAM_API_KEY: "dg-key",
        OPENAI_API_KEY: "sk-key",
        ANTHROPIC_API_KEY: "an-key"
      })
      assert.deepStrictEqual(ok.providers.stt, ["deepgram", "openai"])
      assert.deepStrictEqual(ok.providers.tts, ["openai", "deepgram", "mock"])
      assert.notInclude(JSON.stringify(ok.providers), "sk-key", "keys stay redacted")
    })
  )

  it.effect("a provider named twice, or a base URL that is not http(s), is refused", () =>
    Effect.gen(function* () {
      assert.strictEqual((yield* failure({ STREAM_LLM_PROVIDER: "mock,mock" })).variable, "STREAM_LLM_PROVIDER")
      assert.strictEqual((yield* failure({ OPENAI_BASE_URL: "ftp://x" })).variable, "OPENAI_BASE_URL")
    })
  )

  it.effect("STREAM_LLM_PROVIDER=nope, STREAM_TTS_PROVIDER=nope, STREAM_ENRICHMENT=nope", () =>
    Effect.gen(function* () {
      for (const variable of ["STREAM_LLM_PROVIDER", "STREAM_TTS_PROVIDER", "STREAM_ENRICHMENT"]) {
        const error = yield* failure({ [variable]: "nope" })
        assert.strictEqual(error.variable, variable)
        assert.include(error.message, '"nope"')
        assert.include(error.message, "mock")
      }
    })
  )

  it.effect("NODE_ENV=staging (the message lists development, production, test)", () =>
    Effect.gen(function* () {
      const error = yield* failure({ NODE_ENV: "staging" })
      assert.strictEqual(error.variable, "NODE_ENV")
      assert.include(error.message, '"staging"')
      assert.include(error.message, "development, production, test")
    })
  )

  it.effect("STREAM_CORS_ORIGIN=not-a-url (the message quotes the bad origin)", () =>
    Effect.gen(function* () {
      const error = yield* failure({ STREAM_CORS_ORIGIN: "not-a-url" })
      assert.strictEqual(error.variable, "STREAM_CORS_ORIGIN")
      assert.include(error.message, '"not-a-url"')
      assert.include(error.message, "https://")
    })
  )

  it.effect("STREAM_CORS_ORIGIN with one bad entry in a list, or an origin with a path, is refused", () =>
    Effect.gen(function* () {
      const listed = yield* failure({ STREAM_CORS_ORIGIN: "https://app.example.com, ftp://files.example.com" })
      assert.strictEqual(listed.variable, "STREAM_CORS_ORIGIN")
      assert.include(listed.message, "ftp://files.example.com")
      const withPath = yield* failure({ STREAM_CORS_ORIGIN: "https://app.example.com/login" })
      assert.strictEqual(withPath.variable, "STREAM_CORS_ORIGIN")
    })
  )

  it.effect("STREAM_CORS_ORIGIN made only of commas is refused", () =>
    Effect.gen(function* () {
      assert.strictEqual((yield* failure({ STREAM_CORS_ORIGIN: " , ," })).variable, "STREAM_CORS_ORIGIN")
    })
  )

  it.effect("STREAM_OUTPUT_SAMPLE_RATE=12345 (the message lists the supported rates)", () =>
    Effect.gen(function* () {
      const error = yield* failure({ STREAM_OUTPUT_SAMPLE_RATE: "12345" })
      assert.strictEqual(error.variable, "STREAM_OUTPUT_SAMPLE_RATE")
      assert.include(error.message, "12345")
      assert.include(error.message, "8000, 16000, 22050, 24000, 44100, 48000")
    })
  )

  it.effect("STREAM_OUTPUT_SAMPLE_RATE out of the 8000..48000 range", () =>
    Effect.gen(function* () {
      const error = yield* failure({ STREAM_OUTPUT_SAMPLE_RATE: "96000" })
      assert.strictEqual(error.variable, "STREAM_OUTPUT_SAMPLE_RATE")
      assert.include(error.message, "96000")
    })
  )

  it.effect("STREAM_DEBUG=maybe", () =>
    Effect.gen(function* () {
      const error = yield* failure({ STREAM_DEBUG: "maybe" })
      assert.strictEqual(error.variable, "STREAM_DEBUG")
      assert.include(error.message, "STREAM_DEBUG")
      assert.notInclude(error.message, "\n", "one line")
    })
  )

  it.effect("STREAM_LLM_RETRIES=99 (range 0 to 10)", () =>
    Effect.gen(function* () {
      const error = yield* failure({ STREAM_LLM_RETRIES: "99" })
      assert.strictEqual(error.variable, "STREAM_LLM_RETRIES")
      assert.include(error.message, "0 to 10")
      assert.include(error.message, "got 99")
    })
  )

  it.effect("each per-port variable is validated under its own name", () =>
    Effect.gen(function* () {
      for (const variable of [
        "STREAM_STT_TIMEOUT_MS",
        "STREAM_TTS_IDLE_TIMEOUT_MS",
        "STREAM_ENRICHMENT_RETRY_BASE_MS",
        "STREAM_LLM_RETRY_MAX_MS",
        "STREAM_TTS_CONCURRENCY"
      ]) {
        const error = yield* failure({ [variable]: "0" })
        assert.strictEqual(error.variable, variable)
      }
    })
  )

  it.effect("a mock setting out of range names its variable", () =>
    Effect.gen(function* () {
      const error = yield* failure({ STREAM_MOCK_TTS_CHUNK_MS: "5" })
      assert.strictEqual(error.variable, "STREAM_MOCK_TTS_CHUNK_MS")
      assert.include(error.message, "10 to 1000")
    })
  )
})

describe("loadSettings in production", () => {
  it.effect("without JWT_SECRET → fails naming JWT_SECRET", () =>
    Effect.gen(function* () {
      const error = yield* failure({ NODE_ENV: "production", STREAM_CORS_ORIGIN: "https://app.example.com" })
      assert.strictEqual(error.variable, "JWT_SECRET")
      assert.include(error.message, "required in production")
    })
  )

  it.effect("with an empty JWT_SECRET → fails naming JWT_SECRET", () =>
    Effect.gen(function* () {
      const error = yield* failure({ ...productionOk, JWT_SECRET: "" })
      assert.strictEqual(error.variable, "JWT_SECRET")
    })
  )

  it.effect("with a 10-byte JWT_SECRET → fails as too weak, without printing the secret", () =>
    Effect.gen(function* () {
      const error = yield* failure({ ...productionOk, JWT_SECRET: "0123456789" })
      assert.strictEqual(error.variable, "JWT_SECRET")
      assert.include(error.message, "too weak")
      assert.include(error.message, "10 bytes")
      assert.notInclude(error.message, "0123456789")
    })
  )

  it.effect("the minimum secret length is measured in bytes: 31 bytes fail, 32 bytes pass", () =>
    Effect.gen(function* () {
      assert.strictEqual(MinJwtSecretBytes, 32)
      const short = yield* failure({ ...productionOk, JWT_SECRET: "a".repeat(31) })
      assert.strictEqual(short.variable, "JWT_SECRET")
      // 16 two-byte characters are 32 bytes although only 16 characters long.
      const settings = yield* load({ ...productionOk, JWT_SECRET: "é".repeat(16) })
      assert.strictEqual(Redacted.value(settings.jwtSecret), "é".repeat(16))
      const tooShortMultibyte = yield* failure({ ...productionOk, JWT_SECRET: "é".repeat(15) })
      assert.include(tooShortMultibyte.message, "30 bytes")
    })
  )

  it.effect("with a strong secret but STREAM_CORS_ORIGIN unset → fails naming STREAM_CORS_ORIGIN", () =>
    Effect.gen(function* () {
      const error = yield* failure({ NODE_ENV: "production", JWT_SECRET: strongSecret })
      assert.strictEqual(error.variable, "STREAM_CORS_ORIGIN")
      assert.include(error.message, "production")
    })
  )

  it.effect('with a strong secret but STREAM_CORS_ORIGIN="*" → fails naming STREAM_CORS_ORIGIN', () =>
    Effect.gen(function* () {
      const error = yield* failure({ ...productionOk, STREAM_CORS_ORIGIN: "*" })
      assert.strictEqual(error.variable, "STREAM_CORS_ORIGIN")
    })
  )

  it.effect("with a strong secret and an origin list → succeeds", () =>
    Effect.gen(function* () {
      const settings = yield* load(productionOk)
      assert.strictEqual(settings.nodeEnv, "production")
      assert.isFalse(settings.jwtSecretIsDefault)
      assert.strictEqual(Redacted.value(settings.jwtSecret), strongSecret)
      assert.deepStrictEqual(settings.corsOrigins, ["https://app.example.com", "https://admin.example.com"])
    })
  )

  it.effect("the Redacted secret does not print its value", () =>
    Effect.gen(function* () {
      const settings = yield* load(productionOk)
      assert.notInclude(String(settings.jwtSecret), strongSecret)
      assert.notInclude(`${settings.jwtSecret}`, strongSecret)
      assert.notInclude(JSON.stringify(settings.jwtSecret), strongSecret)
      assert.notInclude(JSON.stringify(settings), strongSecret)
      assert.notInclude(JSON.stringify({ ...settings }), strongSecret)
    })
  )
})

describe("per-port policies", () => {
  it.effect("STREAM_<PORT>_* variables set the policy of that port only", () =>
    Effect.gen(function* () {
      const settings = yield* load({
        STREAM_LLM_TIMEOUT_MS: "1234",
        STREAM_LLM_IDLE_TIMEOUT_MS: "2345",
        STREAM_LLM_RETRIES: "0",
        STREAM_LLM_RETRY_BASE_MS: "50",
        STREAM_LLM_RETRY_MAX_MS: "500",
        STREAM_LLM_CONCURRENCY: "7",
        STREAM_STT_TIMEOUT_MS: "999",
        STREAM_ENRICHMENT_RETRIES: "10"
      })
      assert.deepStrictEqual(settings.policies.llm, {
        firstChunkTimeoutMs: 1234,
        idleTimeoutMs: 2345,
        retries: 0,
        retryBaseDelayMs: 50,
        retryMaxDelayMs: 500,
        concurrency: 7
      })
      assert.deepStrictEqual(settings.policies.stt, { ...PortPolicyDefaults.stt, firstChunkTimeoutMs: 999 })
      assert.deepStrictEqual(settings.policies.enrichment, { ...PortPolicyDefaults.enrichment, retries: 10 })
      assert.deepStrictEqual(settings.policies.tts, PortPolicyDefaults.tts)
    })
  )
})

describe("loadSettings warnings", () => {
  it.effect("development without JWT_SECRET logs a warning about the development secret", () =>
    Effect.gen(function* () {
      const { value, logs } = yield* captureLogs(load({ STREAM_CORS_ORIGIN: "https://app.example.com" }))
      assert.isTrue(value.jwtSecretIsDefault)
      const warnings = logs.filter((l) => l.level === "Warn")
      assert.strictEqual(warnings.length, 1)
      assert.include(warnings[0]!.text, "JWT_SECRET is not set")
      assert.notInclude(warnings[0]!.text, DevelopmentJwtSecret, "the warning does not print the secret")
    })
  )

  it.effect("development with a short JWT_SECRET warns that production would refuse it", () =>
    Effect.gen(function* () {
      const { value, logs } = yield* captureLogs(
        load({ JWT_SECRET: "short-secret", STREAM_CORS_ORIGIN: "https://app.example.com" })
      )
      assert.isFalse(value.jwtSecretIsDefault)
      const warnings = logs.filter((l) => l.level === "Warn")
      assert.strictEqual(warnings.length, 1)
      assert.include(warnings[0]!.text, `shorter than ${MinJwtSecretBytes} bytes`)
      assert.notInclude(warnings[0]!.text, "short-secret")
    })
  )

  it.effect('development with STREAM_CORS_ORIGIN="*" warns about it', () =>
    Effect.gen(function* () {
      const { logs } = yield* captureLogs(load({ JWT_SECRET: strongSecret }))
      const warnings = logs.filter((l) => l.level === "Warn")
      assert.strictEqual(warnings.length, 1)
      assert.include(warnings[0]!.text, "STREAM_CORS_ORIGIN=*")
    })
  )

  it.effect("a strong secret and an origin list log no warning", () =>
    Effect.gen(function* () {
      const { logs } = yield* captureLogs(
        load({ JWT_SECRET: strongSecret, STREAM_CORS_ORIGIN: "https://a.example.com" })
      )
      assert.deepStrictEqual(
        logs.filter((l) => l.level === "Warn"),
        []
      )
      const production = yield* captureLogs(load(productionOk))
      assert.deepStrictEqual(
        production.logs.filter((l) => l.level === "Warn"),
        []
      )
    })
  )
})

describe("system prompt", () => {
  it.effect(
    "STREAM_SYSTEM_PROMPT_FILE wins over STREAM_SYSTEM_PROMPT; a missing or empty file is an error naming it",
    () =>
      Effect.gen(function* () {
        const dir = mkdtempSync(join(tmpdir(), "vs-prompt-"))
        const file = join(dir, "prompt.txt")
        writeFileSync(file, "  From the file.\n")
        assert.strictEqual(
          (yield* load({ STREAM_SYSTEM_PROMPT_FILE: file, STREAM_SYSTEM_PROMPT: "env" })).systemPrompt,
          "From the file."
        )
        assert.strictEqual((yield* load({ STREAM_SYSTEM_PROMPT: "From env." })).systemPrompt, "From env.")
        const missing = yield* failure({ STREAM_SYSTEM_PROMPT_FILE: join(dir, "nope.txt") })
        assert.strictEqual(missing.variable, "STREAM_SYSTEM_PROMPT_FILE")
        writeFileSync(file, "   ")
        assert.strictEqual((yield* failure({ STREAM_SYSTEM_PROMPT_FILE: file })).variable, "STREAM_SYSTEM_PROMPT_FILE")
        rmSync(dir, { recursive: true })
      })
  )
})

// Keys, base URLs, models and voices of the real providers, and the ordered provider list of each port. A provider
// that is listed but has no key is a startup error naming the variable; keys are Redacted.
import { Config, Effect, Option, Redacted } from "effect"
import { InvalidConfig, intVar, readVar, stringVar } from "./readVar.ts"

export const SttProviderNames = ["mock", "deepgram", "openai"] as const
export const LlmProviderNames = ["mock", "openai", "anthropic"] as const
export const TtsProviderNames = ["mock", "openai", "deepgram"] as const
export type SttProviderName = (typeof SttProviderNames)[number]
export type LlmProviderName = (typeof LlmProviderNames)[number]
export type TtsProviderName = (typeof TtsProviderNames)[number]

export interface OpenAiSettings {
  readonly apiKey: Option.Option<Redacted.Redacted<string>>
  /** Any OpenAI-compatible server (Ollama, vLLM, llama.cpp…) or a proxy; unset means the SDK's default. */
  readonly baseUrl: Option.Option<string>
  readonly model: string
  readonly ttsModel: string
  readonly ttsVoice: string
  readonly sttModel: string
}

export interface DeepgramSettings {
  readonly apiKey: Option.Option<Redacted.Redacted<string>>
  readonly baseUrl: Option.Option<string>
  readonly sttModel: string
  readonly ttsModel: string
}

export interface AnthropicSettings {
  readonly apiKey: Option.Option<Redacted.Redacted<string>>
  /** Without /v1: the SDK adds it. */
  readonly baseUrl: Option.Option<string>
  readonly model: string
  readonly maxTokens: number
}

/** Endpointing by audio energy, for STT providers that have none of their own (OpenAI). */
export interface EndpointingSettings {
  /** RMS level (0..32767) at or above which a frame counts as speech. */
  readonly speechThreshold: number
  /** Trailing silence (of audio) that ends an utterance. */
  readonly endSilenceMs: number
}

export interface ProviderSettings {
  /** Each port's providers in fallback order: the first is used, the next when it fails or its circuit is open. */
  readonly stt: ReadonlyArray<SttProviderName>
  readonly llm: ReadonlyArray<LlmProviderName>
  readonly tts: ReadonlyArray<TtsProviderName>
  readonly openai: OpenAiSettings
  readonly deepgram: DeepgramSettings
  readonly anthropic: AnthropicSettings
  readonly endpointing: EndpointingSettings
}

/** A comma-separated, ordered, duplicate-free list of allowed names. */
const providerList = <const L extends string>(variable: string, allowed: ReadonlyArray<L>) =>
  stringVar(variable, "mock").pipe(
    Effect.flatMap((raw) => {
      const names = raw
        .split(",")
        .map((s) => s.trim().toLowerCase())
        .filter((s) => s.length > 0)
      const unknown = names.find((n) => !(allowed as ReadonlyArray<string>).includes(n))
      if (names.length === 0 || unknown !== undefined) {
        return Effect.fail(
          new InvalidConfig({
            variable,
            message: `${variable}=${JSON.stringify(raw)}: ${unknown === undefined ? "no provider given" : `"${unknown}" is not supported`}; allowed: ${allowed.join(", ")} (a comma-separated fallback list, e.g. ${allowed.slice(1, 3).join(",") || allowed[0]})`
          })
        )
      }
      if (new Set(names).size !== names.length) {
        return Effect.fail(new InvalidConfig({ variable, message: `${variable} names a provider twice: ${raw}` }))
      }
      return Effect.succeed(names as unknown as ReadonlyArray<L>)
    })
  )

const secret = (variable: string) =>
  readVar(variable, Config.option(Config.Redacted(variable))).pipe(
    Effect.map((value) => Option.filter(value, (r) => Redacted.value(r).trim().length > 0))
  )

const optionalUrl = (variable: string) =>
  stringVar(variable, "").pipe(
    Effect.flatMap((raw) => {
      const value = raw.trim()
      if (value.length === 0) return Effect.succeed(Option.none<string>())
      return /^https?:\/\//.test(value) && URL.canParse(value)
        ? Effect.succeed(Option.some(value.replace(/\/+$/, "")))
        : Effect.fail(
            new InvalidConfig({ variable, message: `${variable} must be an http(s) URL; got ${JSON.stringify(value)}` })
          )
    })
  )

const requireKey = (
  key: Option.Option<Redacted.Redacted<string>>,
  variable: string,
  usedBy: ReadonlyArray<string>
): Effect.Effect<void, InvalidConfig> =>
  usedBy.length === 0 || Option.isSome(key)
    ? Effect.void
    : Effect.fail(
        new InvalidConfig({
          variable,
          message: `${variable} is required: the provider is selected by ${usedBy.join(", ")}`
        })
      )

export const readProviderSettings: Effect.Effect<ProviderSettings, InvalidConfig> = Effect.gen(function* () {
  const stt = yield* providerList("STREAM_STT_PROVIDER", SttProviderNames)
  const llm = yield* providerList("STREAM_LLM_PROVIDER", LlmProviderNames)
  const tts = yield* providerList("STREAM_TTS_PROVIDER", TtsProviderNames)
  const settings: ProviderSettings = {
    stt,
    llm,
    tts,
    openai: {
      apiKey: yield* secret("OPENAI_API_KEY"),
      baseUrl: yield* optionalUrl("OPENAI_BASE_URL"),
      model: yield* stringVar("OPENAI_MODEL", "gpt-4o-mini"),
      ttsModel: yield* stringVar("OPENAI_TTS_MODEL", "gpt-4o-mini-tts"),
      ttsVoice: yield* stringVar("OPENAI_TTS_VOICE", "alloy"),
      sttModel: yield* stringVar("OPENAI_STT_MODEL", "gpt-4o-transcribe")
    },
    deepgram: {
      apiKey: yield* secret("DEEPGRAM_API_KEY"),
      baseUrl: yield* optionalUrl("DEEPGRAM_BASE_URL"),
      sttModel: yield* stringVar("DEEPGRAM_STT_MODEL", "nova-3"),
      ttsModel: yield* stringVar("DEEPGRAM_TTS_MODEL", "aura-2-thalia-en")
    },
    anthropic: {
      apiKey: yield* secret("ANTHROPIC_API_KEY"),
      baseUrl: yield* optionalUrl("ANTHROPIC_BASE_URL"),
      model: yield* stringVar("ANTHROPIC_MODEL", "claude-sonnet-4-6"),
      maxTokens: 1024
    },
    endpointing: {
      speechThreshold: yield* intVar("STREAM_STT_SPEECH_THRESHOLD", 500, 1, 32767),
      endSilenceMs: yield* intVar("STREAM_STT_ENDPOINT_SILENCE_MS", 500, 100, 10000)
    }
  }
  const usedBy = (vendor: string) =>
    [
      stt.includes(vendor as never) ? "STREAM_STT_PROVIDER" : undefined,
      llm.includes(vendor as never) ? "STREAM_LLM_PROVIDER" : undefined,
      tts.includes(vendor as never) ? "STREAM_TTS_PROVIDER" : undefined
    ].filter((v): v is string => v !== undefined)
  yield* requireKey(settings.openai.apiKey, "OPENAI_API_KEY", usedBy("openai"))
  yield* requireKey(settings.deepgram.apiKey, "DEEPGRAM_API_KEY", usedBy("deepgram"))
  yield* requireKey(settings.anthropic.apiKey, "ANTHROPIC_API_KEY", usedBy("anthropic"))
  return settings
})

// One port over an ordered list of providers (each already under its own resilience guard): calls go to the first
// provider whose circuit is closed and fall back down the list, as Fallback.ts decides. A single provider is used
// as it is.
import { Effect, Stream } from "effect"
import { type CircuitBreakerSettings, makeCircuitBreaker } from "./CircuitBreaker.ts"
import { fallbackStream } from "./Fallback.ts"
import { Llm, type LlmChunk } from "./Llm.ts"
import { Stt } from "./Stt.ts"
import { Tts } from "./Tts.ts"

const withBreakers = <P extends { readonly provider: string }>(
  providers: ReadonlyArray<P>,
  settings: CircuitBreakerSettings
) => providers.map((port) => ({ port, breaker: makeCircuitBreaker(settings) }))

const chainName = (providers: ReadonlyArray<{ readonly provider: string }>) =>
  providers.map((p) => p.provider).join(",")

/** The LLM chain. Usage chunks say which provider served; one is added (zeros) when a provider reports none. */
export const chainLlm = (
  providers: ReadonlyArray<Llm["Service"]>,
  settings: CircuitBreakerSettings
): Llm["Service"] => {
  if (providers.length === 1) return providers[0]!
  const chain = withBreakers(providers, settings)
  return Llm.of({
    provider: chainName(providers),
    model: providers.map((p) => p.model).join(","),
    stream: (request) =>
      fallbackStream(
        chain.map(({ port, breaker }) => ({
          name: port.provider,
          breaker,
          call: () => {
            let reported = false
            return port.stream(request).pipe(
              Stream.map((chunk): LlmChunk => {
                if (chunk._tag !== "Usage") return chunk
                reported = true
                return { ...chunk, provider: port.provider }
              }),
              Stream.concat(
                Stream.suspend(() =>
                  reported
                    ? Stream.empty
                    : Stream.succeed<LlmChunk>({
                        _tag: "Usage",
                        provider: port.provider,
                        inputTokens: 0,
                        outputTokens: 0
                      })
                )
              )
            )
          }
        }))
      )
  })
}

export const chainTts = (
  providers: ReadonlyArray<Tts["Service"]>,
  settings: CircuitBreakerSettings
): Tts["Service"] => {
  if (providers.length === 1) return providers[0]!
  const chain = withBreakers(providers, settings)
  return Tts.of({
    provider: chainName(providers),
    synthesize: (text, format) =>
      fallbackStream(
        chain.map(({ port, breaker }) => ({ name: port.provider, breaker, call: () => port.synthesize(text, format) }))
      )
  })
}

/** STT streams are long: the chain picks a provider each time the session (re)starts its recognition. */
export const chainStt = (
  providers: ReadonlyArray<Stt["Service"]>,
  settings: CircuitBreakerSettings
): Stt["Service"] => {
  if (providers.length === 1) return providers[0]!
  const chain = withBreakers(providers, settings)
  return Stt.of({
    provider: chainName(providers),
    transcribe: (audio, format) =>
      fallbackStream(
        chain.map(({ port, breaker }) => ({
          name: port.provider,
          breaker,
          call: () => port.transcribe(audio, format)
        })),
        (name) => Effect.logInfo("speech recognition provider", { provider: name })
      )
  })
}

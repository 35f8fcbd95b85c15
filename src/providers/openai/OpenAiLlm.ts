// The OpenAI LLM adapter (raw: no retries or timeouts of its own beyond the SDK request timeout): streaming chat
// completions with the shared system prompt, one Delta per content delta and one Usage at the end when the server
// reports it. Works with any OpenAI-compatible server (OPENAI_BASE_URL); the HTTP request is aborted when the stream
// is interrupted.
import { Effect, Schema, Stream } from "effect"
import type { OpenAiSettings } from "../../config/ProviderSettings.ts"
import { delta, Llm, type LlmChunk, LlmError, type LlmRequest } from "../../pipeline/Llm.ts"
import { renderSystemPrompt } from "../../pipeline/Prompt.ts"
import { protocolFailure } from "../httpErrors.ts"
import { fromSdkIterable } from "../sdkStream.ts"
import { makeOpenAiClient } from "./client.ts"
import { toPortError } from "./errors.ts"

/** The fields of a `chat.completion.chunk` the adapter reads; compatible servers vary, so most are optional. */
const ChatChunk = Schema.Struct({
  choices: Schema.optional(
    Schema.Array(
      Schema.Struct({
        delta: Schema.optional(
          Schema.NullOr(Schema.Struct({ content: Schema.optional(Schema.NullOr(Schema.String)) }))
        ),
        finish_reason: Schema.optional(Schema.NullOr(Schema.String))
      })
    )
  ),
  usage: Schema.optional(
    Schema.NullOr(Schema.Struct({ prompt_tokens: Schema.Number, completion_tokens: Schema.Number }))
  )
})
type ChatChunk = typeof ChatChunk.Type

const decodeChunk = (raw: unknown) =>
  Effect.mapError(Schema.decodeUnknownEffect(ChatChunk)(raw), () =>
    protocolFailure("openai", "unexpected chat.completion.chunk shape")
  )

const toMessages = (request: LlmRequest) => [
  { role: "system" as const, content: renderSystemPrompt(request) },
  ...request.messages.map((m) => ({ role: m.role, content: m.content }))
]

const tokens = (n: number) => (Number.isFinite(n) && n >= 0 ? Math.round(n) : 0)

export const makeOpenAiLlm = (settings: OpenAiSettings, options: { readonly timeoutMs: number }): Llm["Service"] => {
  const client = makeOpenAiClient(settings, options.timeoutMs)
  return Llm.of({
    provider: "openai",
    model: settings.model,
    stream: (request) =>
      Stream.suspend(() => {
        let finished = false
        let usage: LlmChunk | undefined
        const read = (chunk: ChatChunk): ReadonlyArray<LlmChunk> => {
          if (chunk.usage) {
            usage = {
              _tag: "Usage",
              inputTokens: tokens(chunk.usage.prompt_tokens),
              outputTokens: tokens(chunk.usage.completion_tokens)
            }
          }
          const out: Array<LlmChunk> = []
          for (const choice of chunk.choices ?? []) {
            const text = choice.delta?.content
            if (text) out.push(delta(text))
            if (choice.finish_reason) finished = true
          }
          return out
        }
        // Usage (some servers send it on every chunk, some never) goes out once, after the last delta.
        const end = Stream.suspend(() => {
          if (!finished) return Stream.fail(protocolFailure("openai", "reply ended before its finish_reason"))
          return usage === undefined ? Stream.empty : Stream.make(usage)
        })
        return fromSdkIterable((signal) =>
          client.chat.completions.create(
            {
              model: settings.model,
              stream: true,
              stream_options: { include_usage: true },
              messages: toMessages(request)
            },
            { signal }
          )
        ).pipe(
          Stream.mapEffect(decodeChunk),
          Stream.map(read),
          Stream.flattenIterable,
          Stream.concat(end),
          Stream.catch((error) => Stream.fromEffect(toPortError((fields) => new LlmError(fields))(error)))
        )
      })
  })
}

// The Anthropic LLM adapter (raw: no retries or timeouts of its own beyond the SDK request timeout): the streaming
// Messages API with the shared system prompt and the history shaped to alternate roles; one Delta per text_delta and
// one Usage (input from message_start, output from the last message_delta) at message_stop. An `event: error`
// mid-stream fails the stream after the deltas already sent; the HTTP request is aborted when the stream is
// interrupted.
import { Effect, Schema, Stream } from "effect"
import type { AnthropicSettings } from "../../config/ProviderSettings.ts"
import { delta, Llm, type LlmChunk, LlmError } from "../../pipeline/Llm.ts"
import { renderSystemPrompt } from "../../pipeline/Prompt.ts"
import { protocolFailure } from "../httpErrors.ts"
import { fromSdkIterable } from "../sdkStream.ts"
import { makeAnthropicClient } from "./client.ts"
import { toPortError } from "./errors.ts"
import { toAnthropicMessages } from "./messages.ts"

const Count = Schema.optional(Schema.NullOr(Schema.Number))
const Usage = Schema.Struct({
  input_tokens: Count,
  output_tokens: Count,
  cache_creation_input_tokens: Count,
  cache_read_input_tokens: Count
})
type Usage = typeof Usage.Type

/** The fields of the stream events the adapter reads (message_start, content_block_delta, message_delta, …). */
const StreamEvent = Schema.Struct({
  type: Schema.String,
  message: Schema.optional(Schema.Struct({ usage: Schema.optional(Usage) })),
  delta: Schema.optional(Schema.Struct({ type: Schema.optional(Schema.String), text: Schema.optional(Schema.String) })),
  usage: Schema.optional(Schema.NullOr(Usage))
})
type StreamEvent = typeof StreamEvent.Type

const decodeEvent = (raw: unknown) =>
  Effect.mapError(Schema.decodeUnknownEffect(StreamEvent)(raw), () =>
    protocolFailure("anthropic", "unexpected stream event shape")
  )

const count = (n: number | null | undefined) => (typeof n === "number" && Number.isFinite(n) && n >= 0 ? n : 0)

/** Prompt tokens including the cached ones, which Anthropic reports apart from input_tokens. */
const inputTokens = (usage: Usage) =>
  count(usage.input_tokens) + count(usage.cache_creation_input_tokens) + count(usage.cache_read_input_tokens)

export const makeAnthropicLlm = (
  settings: AnthropicSettings,
  options: { readonly timeoutMs: number }
): Llm["Service"] => {
  const client = makeAnthropicClient(settings, options.timeoutMs)
  const toLlmError = toPortError((fields) => new LlmError(fields))
  return Llm.of({
    provider: "anthropic",
    model: settings.model,
    stream: (request) =>
      Stream.suspend(() => {
        const messages = toAnthropicMessages(request.messages)
        if (messages.length === 0) {
          return Stream.fail(
            new LlmError({ reason: "bad_request", retryable: false, message: "anthropic: no user message to answer" })
          )
        }
        let input = 0
        let output = 0
        let stopped = false
        const read = (event: StreamEvent): ReadonlyArray<LlmChunk> => {
          switch (event.type) {
            case "message_start":
              if (event.message?.usage) {
                input = inputTokens(event.message.usage)
                output = count(event.message.usage.output_tokens)
              }
              return []
            case "content_block_delta":
              return event.delta?.type === "text_delta" && event.delta.text ? [delta(event.delta.text)] : []
            case "message_delta":
              // Counts here are cumulative; input appears here too in newer API versions.
              if (event.usage) {
                if (typeof event.usage.input_tokens === "number") input = inputTokens(event.usage)
                output = count(event.usage.output_tokens)
              }
              return []
            case "message_stop":
              stopped = true
              return [{ _tag: "Usage", inputTokens: Math.round(input), outputTokens: Math.round(output) }]
            default:
              return []
          }
        }
        const end = Stream.suspend(() =>
          stopped ? Stream.empty : Stream.fail(protocolFailure("anthropic", "reply ended before message_stop"))
        )
        return fromSdkIterable((signal) =>
          client.messages.create(
            {
              model: settings.model,
              max_tokens: settings.maxTokens,
              system: renderSystemPrompt(request),
              messages,
              stream: true
            },
            { signal }
          )
        ).pipe(
          Stream.mapEffect(decodeEvent),
          Stream.map(read),
          Stream.flattenIterable,
          Stream.concat(end),
          Stream.catch((error) => Stream.fromEffect(toLlmError(error)))
        )
      })
  })
}

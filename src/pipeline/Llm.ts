// The language-model port: a conversation in, a stream of reply text deltas out.
import { Context, Schema, type Stream } from "effect"
import type { EnrichmentContext } from "../domain/Enrichment.ts"
import { portErrorFields } from "./PortError.ts"

export class LlmError extends Schema.TaggedError<LlmError>()("LlmError", portErrorFields) {}

export interface ChatMessage {
  readonly role: "user" | "assistant"
  readonly content: string
}

export interface LlmRequest {
  readonly system: string
  /** Earlier turns, oldest first, then the current user message last. */
  readonly messages: ReadonlyArray<ChatMessage>
  readonly context: EnrichmentContext
  /** The time of the turn (ISO 8601), so the model can tell how old the context's figures are. */
  readonly now?: string
}

/** What a reply stream carries: text deltas as they come, and (usually last) what the call consumed. */
export type LlmChunk =
  | { readonly _tag: "Delta"; readonly text: string }
  | {
      readonly _tag: "Usage"
      readonly inputTokens: number
      readonly outputTokens: number
      /** Which provider served, when a chain of providers stands behind the port. */
      readonly provider?: string
    }

export const delta = (text: string): LlmChunk => ({ _tag: "Delta", text })

export class Llm extends Context.Service<
  Llm,
  {
    readonly provider: string
    readonly model: string
    readonly stream: (request: LlmRequest) => Stream.Stream<LlmChunk, LlmError>
  }
>()("voice-stream/pipeline/Llm") {}

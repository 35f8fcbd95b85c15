// The enrichment port: live context (prices, headlines) for what the user asked.
import { Context, type Effect, Schema } from "effect"
import type { EnrichmentContext } from "../domain/Enrichment.ts"
import { portErrorFields } from "./PortError.ts"

export class EnrichError extends Schema.TaggedError<EnrichError>()("EnrichError", portErrorFields) {}

export class Enricher extends Context.Service<
  Enricher,
  {
    readonly provider: string
    /** Starts fetching for a partial transcript so the final turn finds it ready; never fails. */
    readonly prime: (partialText: string) => Effect.Effect<void>
    /** The context for a final user text. The caller bounds the wait with its budget. */
    readonly enrich: (text: string) => Effect.Effect<EnrichmentContext, EnrichError>
  }
>()("voice-stream/pipeline/Enricher") {}

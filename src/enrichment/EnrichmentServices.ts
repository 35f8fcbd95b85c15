// The services the live enricher needs from outside: an HTTP client (fetch) and Effect's RateLimiter, here with an
// in-memory store (per instance; a Redis store would share the per-source budgets across instances).
import { Layer } from "effect"
import { FetchHttpClient } from "effect/http"
import { RateLimiter } from "effect/persistence"

export const LiveEnricherServices = Layer.mergeAll(
  FetchHttpClient.layer,
  RateLimiter.layer.pipe(Layer.provide(RateLimiter.layerStoreMemory))
)

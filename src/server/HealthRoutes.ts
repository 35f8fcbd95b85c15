// GET /healthz (the process is alive) and GET /readyz (ready to take sessions; 503 while draining). A degraded
// session store (database down, records waiting) is reported but does not make the server unready.
import { Effect } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { SessionStore } from "../persistence/SessionStore.ts"
import { SessionRegistry } from "../session/SessionRegistry.ts"

export const HealthRoutes = HttpRouter.use(
  Effect.fnUntraced(function* (router) {
    const registry = yield* SessionRegistry
    const store = yield* SessionStore
    yield* router.add("GET", "/healthz", Effect.succeed(HttpServerResponse.jsonUnsafe({ status: "ok" })))
    yield* router.add(
      "GET",
      "/readyz",
      Effect.gen(function* () {
        const draining = yield* registry.isDraining
        const activeSessions = yield* registry.activeCount
        const storeHealth = yield* store.health
        return HttpServerResponse.jsonUnsafe(
          { status: draining ? "draining" : "ready", activeSessions, store: storeHealth },
          { status: draining ? 503 : 200 }
        )
      })
    )
  })
)

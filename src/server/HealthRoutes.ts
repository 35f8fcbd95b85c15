// GET /healthz (the process is alive) and GET /readyz (ready to take sessions; 503 while draining).
import { Effect } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { SessionRegistry } from "../session/SessionRegistry.ts"

export const HealthRoutes = HttpRouter.use(
  Effect.fnUntraced(function* (router) {
    const registry = yield* SessionRegistry
    yield* router.add("GET", "/healthz", Effect.succeed(HttpServerResponse.jsonUnsafe({ status: "ok" })))
    yield* router.add(
      "GET",
      "/readyz",
      Effect.gen(function* () {
        const draining = yield* registry.isDraining
        const activeSessions = yield* registry.activeCount
        return HttpServerResponse.jsonUnsafe(
          { status: draining ? "draining" : "ready", activeSessions },
          { status: draining ? 503 : 200 }
        )
      })
    )
  })
)

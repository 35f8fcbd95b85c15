// GET /v1/stream: admission before the upgrade (WebSocket, Origin, JWT, caps), then the Session on the socket.
import { Effect } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { AppConfig } from "../config/AppConfig.ts"
import { countRefusal, trackConnection } from "../observability/SessionMetrics.ts"
import { runSession } from "../session/Session.ts"
import { SessionRegistry } from "../session/SessionRegistry.ts"
import { extractToken, verifyToken } from "./Auth.ts"
import { originAllowed } from "./Origin.ts"
import { refusal } from "./Refusal.ts"
import { socketTransport } from "./SocketTransport.ts"

export const StreamPath = "/v1/stream"

const queryToken = (url: string) => new URL(url, "http://localhost").searchParams.get("token") ?? undefined

const handleStream = Effect.gen(function* () {
  const request = yield* HttpServerRequest.HttpServerRequest
  const config = yield* AppConfig
  const registry = yield* SessionRegistry
  const headers = request.headers
  const refused = (status: number, code: Parameters<typeof refusal>[1], message: string) =>
    Effect.as(
      Effect.andThen(countRefusal(code), Effect.logInfo("upgrade refused", { status, code })),
      refusal(status, code, message)
    )

  if (headers.upgrade?.toLowerCase() !== "websocket") {
    return yield* refused(426, "upgrade_required", `${StreamPath} speaks WebSocket only`)
  }
  if (!originAllowed(headers.origin, config.corsOrigins)) {
    return yield* refused(403, "forbidden_origin", "This origin may not open sessions (STREAM_CORS_ORIGIN)")
  }
  const token = extractToken({
    authorization: headers.authorization,
    subprotocols: headers["sec-websocket-protocol"],
    queryToken: queryToken(request.url)
  })
  const userId = yield* Effect.result(verifyToken(token, config.jwtSecret))
  if (userId._tag === "Failure") {
    return yield* refused(401, "unauthorized", userId.failure.message)
  }

  return yield* Effect.scoped(
    Effect.gen(function* () {
      const admission = yield* Effect.result(registry.admit(userId.success))
      if (admission._tag === "Failure") {
        const { status, code, message } = admission.failure
        return yield* refused(status, code, message)
      }
      const { sessionId, shutdown } = admission.success
      const socket = yield* request.upgrade
      const transport = yield* socketTransport(socket)
      yield* runSession(transport, { sessionId, userId: userId.success }, shutdown).pipe(
        trackConnection,
        Effect.annotateLogs({ sessionId })
      )
      return HttpServerResponse.empty()
    })
  ).pipe(
    Effect.catchCause((cause) =>
      Effect.as(
        Effect.andThen(countRefusal("internal_error"), Effect.logWarning("session could not start", cause)),
        refusal(500, "internal_error", "The session could not start")
      )
    )
  )
})

export const StreamRoute = HttpRouter.add("GET", StreamPath, handleStream)

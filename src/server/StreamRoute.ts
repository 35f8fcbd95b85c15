// GET /v1/stream: admission before the upgrade (WebSocket, Origin, rate limits, JWT, caps), then the Session.
import { NodeHttpServerRequest } from "@effect/platform-node"
import { Effect, Option } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { AppConfig } from "../config/AppConfig.ts"
import { countRefusal, trackConnection } from "../observability/SessionMetrics.ts"
import { trustedProxiesFor } from "../protection/ClientIp.ts"
import { webSocketOf } from "../protection/GuardedWebSocket.ts"
import { Limits, type Verdict } from "../protection/Limits.ts"
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
  const limits = yield* Limits
  const refused = (
    status: number,
    code: Parameters<typeof refusal>[1],
    message: string,
    extraHeaders: Record<string, string> = {}
  ) =>
    Effect.as(
      Effect.andThen(countRefusal(code), Effect.logInfo("upgrade refused", { status, code })),
      refusal(status, code, message, extraHeaders)
    )
  const rateLimited = (verdict: Extract<Verdict, { allowed: false }>, what: string) =>
    refused(429, "rate_limited", `Too many connection attempts ${what}; retry after ${verdict.retryAfterMs} ms`, {
      "retry-after": String(Math.ceil(verdict.retryAfterMs / 1000))
    })

  if (headers.upgrade?.toLowerCase() !== "websocket") {
    return yield* refused(426, "upgrade_required", `${StreamPath} speaks WebSocket only`)
  }
  if (!originAllowed(headers.origin, config.corsOrigins)) {
    return yield* refused(403, "forbidden_origin", "This origin may not open sessions (STREAM_CORS_ORIGIN)")
  }
  const { protection } = config
  const clientIp = trustedProxiesFor(protection.trustedProxies).clientIp(
    Option.getOrUndefined(request.remoteAddress),
    headers["x-forwarded-for"]
  )
  const byIp = yield* limits.check("connect_ip", clientIp, protection.connectPerIp)
  if (!byIp.allowed) return yield* rateLimited(byIp, "from this address")
  const token = extractToken({
    authorization: headers.authorization,
    subprotocols: headers["sec-websocket-protocol"],
    queryToken: queryToken(request.url)
  })
  const userId = yield* Effect.result(verifyToken(token, config.jwtSecret))
  if (userId._tag === "Failure") {
    return yield* refused(401, "unauthorized", userId.failure.message)
  }
  const byUser = yield* limits.check("connect_user", userId.success, protection.connectPerUser)
  if (!byUser.allowed) return yield* rateLimited(byUser, "for this user")

  return yield* Effect.scoped(
    Effect.gen(function* () {
      const admission = yield* Effect.result(registry.admit(userId.success))
      if (admission._tag === "Failure") {
        const { status, code, message } = admission.failure
        return yield* refused(status, code, message)
      }
      const { sessionId, shutdown } = admission.success
      const socket = yield* request.upgrade
      // The raw `ws` socket under the Effect Socket (docs/decisions.md 1 and 30).
      const connection = NodeHttpServerRequest.toIncomingMessage(request).socket
      const transport = yield* socketTransport(socket, () => webSocketOf(connection))
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

// The HTTP server: one port for HTTP and WebSocket, routes, frame-size limit and subprotocol choice.
import { createServer } from "node:http"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { HttpRouter } from "effect/http"
import { AppConfig } from "../config/AppConfig.ts"
import { ProtocolName } from "../domain/Protocol.ts"
import { MetricsRoute } from "../observability/MetricsRoute.ts"
import { guardedWebSocket } from "../protection/GuardedWebSocket.ts"
import { HealthRoutes } from "./HealthRoutes.ts"
import { refusal } from "./Refusal.ts"
import { SessionRoutes } from "./SessionRoutes.ts"
import { StreamRoute } from "./StreamRoute.ts"

const NotFound = HttpRouter.add("*", "*", Effect.succeed(refusal(404, "not_found", "No such route")))

const Routes = Layer.mergeAll(HealthRoutes, StreamRoute, SessionRoutes, MetricsRoute, NotFound)

/** Node's HTTP server on STREAM_WS_PORT; `ws` closes a connection with 1009 on a frame over the limit. */
export const NodeServerLive = Layer.unwrap(
  Effect.map(Effect.service(AppConfig), (config) =>
    NodeHttpServer.layer(createServer, {
      port: config.port,
      host: config.host,
      gracefulShutdownTimeout: config.shutdownGraceMs,
      websocket: {
        maxPayload: config.maxFrameBytes,
        // Pings peers (STREAM_PING_INTERVAL_MS) and exposes bufferedAmount to the session (issue 7).
        WebSocket: guardedWebSocket(config.protection.pingIntervalMs),
        // Answer the browser subprotocol pair with `voice-stream.v1`; the bearer.<jwt> half is never echoed.
        handleProtocols: (protocols: Set<string>) => (protocols.has(ProtocolName) ? ProtocolName : false)
      }
    })
  )
)

/** Routes served on the Node server, which stays in the output for its address. The built-in request logger is off:
 *  URLs may carry a token. */
export const HttpServerLive = HttpRouter.serve(Routes, { disableLogger: true }).pipe(Layer.provideMerge(NodeServerLive))

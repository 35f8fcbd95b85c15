// Composes the whole server from its layers. Build order matters for shutdown: the drain is built last so it is
// released first, while the HTTP server and the sessions' providers are still up.
import { Layer } from "effect"
import { AppConfig } from "./config/AppConfig.ts"
import { LoggingLive } from "./observability/Logging.ts"
import { ProvidersLive } from "./providers/Providers.ts"
import { HttpServerLive } from "./server/HttpServer.ts"
import { ShutdownDrain } from "./server/ShutdownDrain.ts"
import { SessionRegistry } from "./session/SessionRegistry.ts"

/** Everything a session needs, below the HTTP server. */
export const CoreLive = Layer.mergeAll(SessionRegistry.layer, ProvidersLive).pipe(Layer.provideMerge(AppConfig.layer))

/** The server, given its configuration from the current ConfigProvider. */
export const AppLive = ShutdownDrain.pipe(
  Layer.provide(HttpServerLive),
  Layer.provideMerge(CoreLive),
  Layer.provide(LoggingLive.pipe(Layer.provide(AppConfig.layer)))
)

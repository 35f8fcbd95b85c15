// Composes the whole server from its layers. Build order matters for shutdown: the drain is built last so it is
// released first, while the HTTP server and the sessions' providers are still up.
import { Layer, Scheduler } from "effect"
import { AppConfig } from "./config/AppConfig.ts"
import { GaugeSampler } from "./observability/GaugeSampler.ts"
import { LoggingLive } from "./observability/Logging.ts"
import { ObservabilityLive } from "./observability/ObservabilityLive.ts"
import { PersistenceLive } from "./persistence/PersistenceLive.ts"
import type { SessionRepository } from "./persistence/SessionRepository.ts"
import type { SessionStore } from "./persistence/SessionStore.ts"
import type { Enricher } from "./pipeline/Enricher.ts"
import type { Llm } from "./pipeline/Llm.ts"
import type { Stt } from "./pipeline/Stt.ts"
import type { Tts } from "./pipeline/Tts.ts"
import { ProtectionLive } from "./protection/ProtectionLive.ts"
import { ProvidersLive } from "./providers/Providers.ts"
import { DrainingScheduler } from "./runtime/DrainingScheduler.ts"
import { HttpServerLive } from "./server/HttpServer.ts"
import { ShutdownDrain } from "./server/ShutdownDrain.ts"
import { SessionRegistry } from "./session/SessionRegistry.ts"

export type Ports = Stt | Llm | Tts | Enricher
export type Persistence = SessionStore | SessionRepository

/**
 * The server over the given pipeline ports and persistence; configuration comes from the current ConfigProvider.
 * Sessions end (drain) before the store flushes, and the store flushes before the database closes.
 */
export const makeApp = <E1, E2>(
  ports: Layer.Layer<Ports, E1, AppConfig>,
  persistence: Layer.Layer<Persistence, E2, AppConfig>
) => {
  const core = Layer.mergeAll(SessionRegistry.layer, ports, persistence, AppConfig.warnings).pipe(
    // Rate limits and per-user leases (memory or Redis): under the registry, released after the sessions end.
    Layer.provideMerge(ProtectionLive),
    Layer.provideMerge(AppConfig.layer)
  )
  return ShutdownDrain.pipe(
    Layer.provideMerge(HttpServerLive),
    Layer.provideMerge(GaugeSampler.layer),
    Layer.provideMerge(core),
    // Metrics registry, tracer and OTLP export under everything: built first, released (flushed) last.
    Layer.provide(ObservabilityLive.pipe(Layer.provide(AppConfig.layer))),
    Layer.provide(LoggingLive.pipe(Layer.provide(AppConfig.layer))),
    // Every fiber of the server, from the layers' own to each session's, on one draining scheduler (decision 38).
    Layer.provide(Layer.succeed(Scheduler.Scheduler, new DrainingScheduler()))
  )
}

/** The server with the providers and database chosen by configuration. */
export const AppLive = makeApp(ProvidersLive, PersistenceLive)

// On shutdown, before the HTTP server closes: refuse new sessions, end live ones politely, wait for them.
import { Effect, Layer } from "effect"
import { AppConfig } from "../config/AppConfig.ts"
import { SessionRegistry } from "../session/SessionRegistry.ts"

export const ShutdownDrain = Layer.effectDiscard(
  Effect.gen(function* () {
    const registry = yield* SessionRegistry
    const config = yield* AppConfig
    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        const active = yield* registry.activeCount
        yield* Effect.logInfo("draining", { activeSessions: active })
        // Sessions get the grace period to finish their reply; allow a little more for the goodbyes to go out.
        yield* registry.drain.pipe(Effect.timeoutOption(config.shutdownGraceMs + 2000))
      })
    )
  })
)

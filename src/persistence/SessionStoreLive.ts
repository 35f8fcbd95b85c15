// The SessionStore as deployed: the buffered writer over the SQL repository, crash recovery of sessions left open
// by a dead instance, conversation memory from earlier sessions, and a flush on shutdown.
import { Clock, Duration, Effect, Layer, Path, Schedule } from "effect"
import { AppConfig } from "../config/AppConfig.ts"
import type { ChatMessage } from "../pipeline/Llm.ts"
import { makeBufferedStore } from "./BufferedStore.ts"
import { SessionRepository } from "./SessionRepository.ts"
import { SessionStore } from "./SessionStore.ts"
import { fileSpill } from "./SpillFile.ts"

/** Longest a new session waits for its conversation memory before starting without it. */
const MemoryLookupTimeoutMs = 1000

export const SessionStoreLive = Layer.effect(
  SessionStore,
  Effect.gen(function* () {
    const config = yield* AppConfig
    const repository = yield* SessionRepository
    const path = yield* Path.Path
    const folder = path.join(config.database.dataDir, "spill")
    const store = yield* makeBufferedStore(config.store, {
      writeBatch: repository.writeBatch,
      ping: repository.ping,
      spill: yield* fileSpill(path.join(folder, "session-store.ndjson")),
      rejected: yield* fileSpill(path.join(folder, "session-store.rejected.ndjson"))
    })
    yield* Effect.addFinalizer(() => store.shutdown(config.shutdownGraceMs))

    // Sessions this instance left open when it died, and anyone's open for longer than the staleness window, are
    // closed as "aborted". In the background, retried until the database answers: startup never waits on it.
    // Only sessions started before this process: sessions this process starts are alive, whatever the database saw.
    const startedAt = yield* Clock.currentTimeMillis
    const recoverAbandoned = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const closed = yield* repository.closeAbandoned({
        instanceId: config.store.instanceId,
        ownStartedBefore: new Date(startedAt),
        staleBefore: new Date(now - config.store.staleSessionMs),
        now: new Date(now)
      })
      if (closed > 0) yield* Effect.logWarning("closed sessions left open by a crash", { sessions: closed })
    })
    yield* Effect.forkScoped(
      recoverAbandoned.pipe(
        Effect.retry(
          Schedule.exponential(Duration.millis(config.store.retryBaseDelayMs)).pipe(Schedule.upTo({ times: 20 }))
        ),
        Effect.catch((error) => Effect.logError("crash recovery of open sessions failed", { error: String(error) }))
      )
    )

    return SessionStore.of({
      record: store.record,
      health: store.health,
      recentTurns: (userId, turns) =>
        repository.lastTurns(userId, turns).pipe(
          Effect.map((rows) =>
            rows.flatMap(
              (t): Array<ChatMessage> => [
                { role: "user", content: t.userText },
                { role: "assistant", content: t.assistantText }
              ]
            )
          ),
          Effect.timeoutOption(MemoryLookupTimeoutMs),
          Effect.map((found) => (found._tag === "Some" ? found.value : [])),
          Effect.catch((error) =>
            Effect.as(Effect.logWarning("conversation memory unavailable", { error: String(error) }), [])
          )
        )
    })
  })
).pipe(Layer.provide(SessionRepository.layer))

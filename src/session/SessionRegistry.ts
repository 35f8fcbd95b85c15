// Admission and bookkeeping of live sessions on this instance: exact instance-wide and per-user caps, draining.
// Admission is one synchronous step, so a burst of simultaneous connects can never slip an extra session in.
// With REDIS_URL the per-user cap also holds across instances, through a Redis lease (SessionLeases).
import { Context, Deferred, Effect, Layer, Schema, type Scope } from "effect"
import { AppConfig } from "../config/AppConfig.ts"
import { SessionLeases } from "../protection/SessionLeases.ts"

export class AdmissionRefused extends Schema.TaggedError<AdmissionRefused>()("AdmissionRefused", {
  status: Schema.Int,
  code: Schema.Literals(["server_at_capacity", "too_many_sessions", "draining"]),
  message: Schema.String
}) {}

export interface Admission {
  readonly sessionId: string
  readonly userId: string
  /** Completed when the server starts draining: the session should end with reason server_shutdown. */
  readonly shutdown: Deferred.Deferred<void>
}

interface Live {
  readonly admission: Admission
  readonly done: Deferred.Deferred<void>
}

export class SessionRegistry extends Context.Service<
  SessionRegistry,
  {
    /** Takes a place for `userId` for as long as the caller's Scope lives, or refuses. */
    readonly admit: (userId: string) => Effect.Effect<Admission, AdmissionRefused, Scope.Scope>
    readonly activeCount: Effect.Effect<number>
    readonly isDraining: Effect.Effect<boolean>
    /** Refuses new sessions, tells every live one to end, and waits until all have. */
    readonly drain: Effect.Effect<void>
  }
>()("voice-stream/session/SessionRegistry") {
  static readonly layer = Layer.effect(
    SessionRegistry,
    Effect.gen(function* () {
      const config = yield* AppConfig
      const leases = yield* SessionLeases
      const live = new Map<string, Live>()
      const perUser = new Map<string, number>()
      let draining = false

      const release = (entry: Live) =>
        Effect.suspend(() => {
          if (!live.delete(entry.admission.sessionId)) return Effect.void
          const left = (perUser.get(entry.admission.userId) ?? 1) - 1
          if (left <= 0) perUser.delete(entry.admission.userId)
          else perUser.set(entry.admission.userId, left)
          return Deferred.succeed(entry.done, undefined)
        })

      // Check and reserve in one synchronous step: no other fiber runs in between.
      const reserve = (userId: string) =>
        Effect.suspend((): Effect.Effect<Live, AdmissionRefused> => {
          if (draining) {
            return Effect.fail(
              new AdmissionRefused({ status: 503, code: "draining", message: "The server is shutting down" })
            )
          }
          if (live.size >= config.maxConcurrentSessions) {
            return Effect.fail(
              new AdmissionRefused({
                status: 503,
                code: "server_at_capacity",
                message: `This server holds ${config.maxConcurrentSessions} sessions at most; try again shortly`
              })
            )
          }
          const mine = perUser.get(userId) ?? 0
          if (mine >= config.maxSessionsPerUser) {
            return Effect.fail(
              new AdmissionRefused({
                status: 429,
                code: "too_many_sessions",
                message: `At most ${config.maxSessionsPerUser} concurrent sessions per user`
              })
            )
          }
          const entry: Live = {
            admission: { sessionId: crypto.randomUUID(), userId, shutdown: Deferred.makeUnsafe<void>() },
            done: Deferred.makeUnsafe<void>()
          }
          live.set(entry.admission.sessionId, entry)
          perUser.set(userId, mine + 1)
          return Effect.succeed(entry)
        })

      return SessionRegistry.of({
        admit: (userId) =>
          Effect.gen(function* () {
            const entry = yield* Effect.acquireRelease(reserve(userId), release)
            // The local count is the cap on this instance; the lease makes it the cap across all of them.
            const lease = yield* leases.acquire(userId, entry.admission.sessionId, config.maxSessionsPerUser)
            if (lease === "full") {
              return yield* new AdmissionRefused({
                status: 429,
                code: "too_many_sessions",
                message: `At most ${config.maxSessionsPerUser} concurrent sessions per user`
              })
            }
            return entry.admission
          }),
        activeCount: Effect.sync(() => live.size),
        isDraining: Effect.sync(() => draining),
        drain: Effect.gen(function* () {
          draining = true
          const entries = [...live.values()]
          yield* Effect.forEach(entries, (entry) => Deferred.succeed(entry.admission.shutdown, undefined), {
            discard: true
          })
          yield* Effect.forEach(entries, (entry) => Deferred.await(entry.done), { discard: true })
        })
      })
    })
  )
}

// The SessionStore port: the session hands it records and moves on. It never fails and never blocks the audio path;
// where the records go (buffered to the database, spilled to disk while it is away) is the adapter's business.
import { Context, Effect, Layer } from "effect"
import type { ChatMessage } from "../pipeline/Llm.ts"
import type { StoreRecord } from "./Records.ts"

export interface StoreHealth {
  /** "degraded": the database is failing and records wait (in memory, or spilled to disk). Sessions go on. */
  readonly status: "ok" | "degraded"
  /** Records waiting in memory. */
  readonly pending: number
  /** Records waiting in the spill file. */
  readonly spilled: number
  /** Records the database refused as bad data since start, set aside in the rejected file for an operator. */
  readonly rejected: number
}

export class SessionStore extends Context.Service<
  SessionStore,
  {
    readonly record: (record: StoreRecord) => Effect.Effect<void>
    readonly health: Effect.Effect<StoreHealth>
    /** The user's last `turns` completed turns from earlier sessions, as messages; empty when unavailable. */
    readonly recentTurns: (userId: string, turns: number) => Effect.Effect<ReadonlyArray<ChatMessage>>
  }
>()("voice-stream/persistence/SessionStore") {
  /** Keeps every record in an array: for tests of what the session records. */
  static readonly layerMemory = (into: Array<StoreRecord>) =>
    Layer.succeed(
      SessionStore,
      SessionStore.of({
        record: (record) =>
          Effect.sync(() => {
            into.push(record)
          }),
        health: Effect.succeed({ status: "ok", pending: 0, spilled: 0, rejected: 0 }),
        recentTurns: (userId, turns) =>
          Effect.sync(() => {
            const sessions = new Set(
              into.flatMap((r) => (r._tag === "SessionStarted" && r.userId === userId ? [r.sessionId] : []))
            )
            return into
              .flatMap((r) =>
                r._tag === "TurnCompleted" && sessions.has(r.sessionId) && r.errorCode === null ? [r] : []
              )
              .slice(-turns)
              .flatMap(
                (t): Array<ChatMessage> => [
                  { role: "user", content: t.userText },
                  { role: "assistant", content: t.assistantText }
                ]
              )
          })
      })
    )
}

// Per-user session places shared by all instances. Without Redis, the SessionRegistry's local count is the cap and
// this service admits everything; with Redis, RedisLeases holds one expiring lease per live session.
import { Context, Effect, type Scope } from "effect"

/** `unavailable`: the shared store failed; the caller fails open (the local per-instance cap still holds). */
export type LeaseOutcome = "acquired" | "full" | "unavailable"

export class SessionLeases extends Context.Reference<{
  /** Holds a place for `sessionId` of `userId` (at most `cap` per user) while the caller's Scope lives. */
  readonly acquire: (userId: string, sessionId: string, cap: number) => Effect.Effect<LeaseOutcome, never, Scope.Scope>
}>("voice-stream/protection/SessionLeases", {
  defaultValue: () => ({ acquire: () => Effect.succeed("acquired" as const) })
}) {}

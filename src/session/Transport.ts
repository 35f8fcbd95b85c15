// What a session needs from its connection, so the actor runs the same over a real WebSocket and in tests.
import type { Effect, Stream } from "effect"

/** How the connection ended, as far as the session can tell. */
export type TransportEnd =
  | { readonly _tag: "ClosedByPeer"; readonly code: number }
  | { readonly _tag: "FrameTooLarge" }
  | { readonly _tag: "Broken"; readonly detail: string }

export interface Transport {
  /** Text frames as strings, binary frames as bytes, in arrival order; ends or fails when the connection does. */
  readonly incoming: Stream.Stream<string | Uint8Array, TransportEnd>
  readonly send: (frame: string | Uint8Array) => Effect.Effect<void>
  readonly close: (code: number, reason: string) => Effect.Effect<void>
  /** Bytes handed to the connection and not yet taken by the network, when the transport can tell. */
  readonly pendingBytes?: () => number
}

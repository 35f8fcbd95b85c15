// What a session needs from its connection, so the actor runs the same over a real WebSocket and in tests.
// Frames are pushed to a listener as they arrive (no fiber hop per frame): the session handles audio on the spot
// and queues only control messages for its reader fiber.
import type { Effect } from "effect"

/** How the connection ended, as far as the session can tell. */
export type TransportEnd =
  | { readonly _tag: "ClosedByPeer"; readonly code: number }
  | { readonly _tag: "FrameTooLarge" }
  | { readonly _tag: "Broken"; readonly detail: string }

export interface TransportListener {
  /** Text frames as strings, binary frames as bytes, in arrival order. Called synchronously: must not block. */
  readonly frame: (frame: string | Uint8Array) => void
  /** The connection ended; no frame follows. Called at most once. */
  readonly end: (end: TransportEnd) => void
}

export interface Transport {
  /** Delivers every frame (also those that arrived before) and the end to `listener`; one listener per transport. */
  readonly listen: (listener: TransportListener) => Effect.Effect<void>
  /** Stops reading from the network (backpressure) until `resume`; frames already read are still delivered. */
  readonly pause: () => void
  readonly resume: () => void
  /** Sends frames in order, as few writes as the connection allows. */
  readonly sendAll: (frames: ReadonlyArray<string | Uint8Array>) => Effect.Effect<void>
  /**
   * The same, done before it returns and never waiting (the connection's own send buffer takes the frames), for a
   * transport that can: the session's writes then need no writer fiber (Outbox.ts). Absent when a send may wait.
   */
  readonly sendNow?: (frames: ReadonlyArray<string | Uint8Array>) => void
  readonly close: (code: number, reason: string) => Effect.Effect<void>
  /** Bytes handed to the connection and not yet taken by the network, when the transport can tell. */
  readonly pendingBytes?: () => number
}

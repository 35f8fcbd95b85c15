// The session's single writer: events and audio frames go out in the order they were produced, from one fiber.
import { type Cause, Effect, Fiber, Queue } from "effect"
import type { ServerEvent } from "../domain/Protocol.ts"
import type { Transport } from "./Transport.ts"

/** Frames waiting to be written; producers wait (backpressure) when it is full. */
export const OutboxCapacity = 1024

export interface Outbox {
  readonly event: (event: ServerEvent) => Effect.Effect<void>
  readonly audio: (pcm: Uint8Array) => Effect.Effect<void>
  /** Writes what is queued, then closes the connection with `code`; later sends are dropped. */
  readonly close: (code: number, reason: string) => Effect.Effect<void>
}

export const makeOutbox = Effect.fnUntraced(function* (transport: Transport) {
  const queue = yield* Queue.bounded<string | Uint8Array, Cause.Done>(OutboxCapacity)
  const writer = yield* Effect.forkScoped(
    Effect.whileLoop({
      while: () => true,
      body: () => Effect.flatMap(Queue.take(queue), transport.send),
      step: () => {}
    }).pipe(Effect.catch(() => Effect.void))
  )
  let closed = false
  const offer = (frame: string | Uint8Array) => (closed ? Effect.void : Effect.asVoid(Queue.offer(queue, frame)))
  const outbox: Outbox = {
    event: (event) => Effect.suspend(() => offer(JSON.stringify(event))),
    audio: (pcm) => Effect.suspend(() => offer(pcm)),
    close: (code, reason) =>
      Effect.suspend(() => {
        if (closed) return Effect.void
        closed = true
        return Queue.end(queue).pipe(Effect.andThen(Fiber.await(writer)), Effect.andThen(transport.close(code, reason)))
      })
  }
  return outbox
})

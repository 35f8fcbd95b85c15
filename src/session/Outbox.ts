// The session's writer: events and audio frames go out in the order they were produced. Over a transport that sends
// without waiting (`sendNow`: a socket, whose own send buffer takes the frames), each frame is written on the spot by
// the fiber that produced it; otherwise they queue for one writer fiber. Either way the bytes waiting in the socket
// are bounded: a client that stops reading trips `overflowed`.
import { type Cause, Deferred, Effect, Fiber, Queue } from "effect"
import type { ServerEvent } from "../domain/Protocol.ts"
import type { Transport } from "./Transport.ts"

/** Frames waiting to be written; producers wait (backpressure) when it is full. */
export const OutboxCapacity = 1024

export interface Outbox {
  readonly event: (event: ServerEvent) => Effect.Effect<void>
  /** Queues a reply audio frame of `turn`. */
  readonly audio: (pcm: Uint8Array, turn: number) => Effect.Effect<void>
  /**
   * Drops the audio of `turn` not written yet (still queued, or sent later by a reply that is still ending): after a
   * cancel the client hears nothing more of it. Text and events still go out, so the client's text matches what the
   * history keeps. Written on the spot, what the socket holds already is the client's.
   */
  readonly discardAudio: (turn: number) => Effect.Effect<void>
  /** Writes what is queued, then closes the connection with `code`; later sends are dropped. */
  readonly close: (code: number, reason: string) => Effect.Effect<void>
  /**
   * Completes when a frame would take the bytes waiting in the socket past the limit (the client is not reading).
   * From then on frames are dropped instead of written, so memory stays bounded; the session should end.
   */
  readonly overflowed: Effect.Effect<void>
}

interface Frame {
  readonly data: string | Uint8Array
  /** Set on reply audio, so a cancelled turn's queued audio can be skipped. */
  readonly audioOfTurn?: number
}

const sizeOf = (data: string | Uint8Array) => (typeof data === "string" ? Buffer.byteLength(data) : data.byteLength)

/** `maxPendingBytes`: the bound on bytes waiting in the socket, when the transport can tell (`pendingBytes`). */
export const makeOutbox = Effect.fnUntraced(function* (transport: Transport, maxPendingBytes = Infinity) {
  const discarded = new Set<number>()
  const overflow = yield* Deferred.make<void>()
  let overflowed = false
  let closed = false
  /**
   * Whether a frame of `size` bytes may join the `pending` bytes waiting in the socket. One that would take them past
   * the bound (unless nothing waits at all) trips `overflowed`: it and every later frame are dropped.
   */
  const fits = (pending: number, size: number) => {
    if (pending + size > maxPendingBytes && pending !== 0) overflowed = true
    return !overflowed
  }
  const isDiscarded = (audioOfTurn: number | undefined) => audioOfTurn !== undefined && discarded.has(audioOfTurn)
  /** The frames to write now, in order: a cancelled turn's audio left out, nothing from the first that does not fit. */
  const admit = (frames: ReadonlyArray<Frame>) => {
    const batch: Array<string | Uint8Array> = []
    let pending = transport.pendingBytes?.() ?? 0
    for (const frame of frames) {
      if (isDiscarded(frame.audioOfTurn)) continue
      const size = sizeOf(frame.data)
      if (!fits(pending, size)) break
      batch.push(frame.data)
      pending += size
    }
    return batch
  }
  const tripped = Effect.asVoid(Deferred.succeed(overflow, undefined))
  const discardAudio = (turn: number) =>
    Effect.sync(() => {
      discarded.add(turn)
    })
  const overflowedNow = Deferred.await(overflow)

  const { sendNow } = transport
  if (sendNow !== undefined) {
    // Written on the spot, by the fiber that produced the frame: no queue, no writer fiber to wake (the socket's cork
    // still gathers a burst into one system call). Later sends after close are dropped.
    const write = (data: string | Uint8Array, audioOfTurn?: number): Effect.Effect<void> => {
      if (closed || overflowed || isDiscarded(audioOfTurn)) return Effect.void
      if (!fits(transport.pendingBytes?.() ?? 0, sizeOf(data))) return tripped
      sendNow([data])
      return Effect.void
    }
    const direct: Outbox = {
      event: (event) => Effect.suspend(() => write(JSON.stringify(event))),
      audio: (pcm, turn) => Effect.suspend(() => write(pcm, turn)),
      discardAudio,
      close: (code, reason) =>
        Effect.suspend(() => {
          if (closed) return Effect.void
          closed = true
          return transport.close(code, reason)
        }),
      overflowed: overflowedNow
    }
    return direct
  }

  const queue = yield* Queue.bounded<Frame, Cause.Done>(OutboxCapacity)
  /** One wake-up writes everything queued meanwhile, in order, as one batch (one system call for many frames). */
  const writeAll = (frames: ReadonlyArray<Frame>) =>
    Effect.suspend(() => {
      const batch = admit(frames)
      const written = batch.length === 0 ? Effect.void : transport.sendAll(batch)
      return overflowed ? Effect.andThen(written, tripped) : written
    })
  const writer = yield* Effect.forkScoped(
    Effect.whileLoop({
      while: () => true,
      body: () => Effect.flatMap(Queue.takeAll(queue), writeAll),
      step: () => {}
    }).pipe(Effect.catch(() => Effect.void))
  )
  // Without waiting while there is room; a full queue makes the producer wait (backpressure).
  const offer = (frame: Frame) =>
    closed || Queue.offerUnsafe(queue, frame) ? Effect.void : Effect.asVoid(Queue.offer(queue, frame))
  const queued: Outbox = {
    event: (event) => Effect.suspend(() => offer({ data: JSON.stringify(event) })),
    audio: (pcm, turn) => Effect.suspend(() => offer({ data: pcm, audioOfTurn: turn })),
    discardAudio,
    close: (code, reason) =>
      Effect.suspend(() => {
        if (closed) return Effect.void
        closed = true
        return Queue.end(queue).pipe(Effect.andThen(Fiber.await(writer)), Effect.andThen(transport.close(code, reason)))
      }),
    overflowed: overflowedNow
  }
  return queued
})

// The outbox over a transport that sends on the spot (sendNow, as the WebSocket transport does): each frame is
// written by the fiber that produced it, before its send returns, in order; the bound on bytes waiting in the socket
// still trips `overflowed` and drops what follows; a discarded turn's audio is dropped; after close nothing more is
// written. (The queued mode, over a transport whose sends may wait, is covered by the session tests with TestTransport.)
import { assert, it } from "@effect/vitest"
import { Deferred, Effect, Fiber } from "effect"
import { makeOutbox } from "../../src/session/Outbox.ts"
import type { Transport } from "../../src/session/Transport.ts"

const syncTransport = (pendingBytes?: () => number) => {
  const written: Array<string | Uint8Array> = []
  let sendAllCalls = 0
  let closed: { code: number; reason: string } | undefined
  const transport: Transport = {
    listen: () => Effect.void,
    pause: () => {},
    resume: () => {},
    sendAll: (frames) =>
      Effect.sync(() => {
        sendAllCalls++
        written.push(...frames)
      }),
    sendNow: (frames) => {
      written.push(...frames)
    },
    close: (code, reason) =>
      Effect.sync(() => {
        closed = { code, reason }
      }),
    ...(pendingBytes === undefined ? {} : { pendingBytes })
  }
  return { transport, written, sendAllCalls: () => sendAllCalls, closed: () => closed }
}

it.effect("each frame is written before its send returns, in order, with no writer fiber in between", () =>
  Effect.gen(function* () {
    const socket = syncTransport()
    const outbox = yield* makeOutbox(socket.transport)
    yield* outbox.event({ type: "pong", id: 1 })
    assert.deepStrictEqual(socket.written, [JSON.stringify({ type: "pong", id: 1 })])
    const pcm = new Uint8Array([1, 2, 3, 4])
    yield* outbox.audio(pcm, 7)
    yield* outbox.event({ type: "pong", id: 2 })
    assert.strictEqual(socket.written.length, 3)
    assert.strictEqual(socket.written[1], pcm)
    assert.strictEqual(socket.written[2], JSON.stringify({ type: "pong", id: 2 }))
    assert.strictEqual(socket.sendAllCalls(), 0, "the queued path is not used")
  }).pipe(Effect.scoped)
)

it.effect(
  "past the bound on bytes waiting in the socket: overflowed, and that frame and all later ones are dropped",
  () =>
    Effect.gen(function* () {
      let waiting = 0
      const socket = syncTransport(() => waiting)
      const outbox = yield* makeOutbox(socket.transport, 100)
      const watcher = yield* Effect.forkChild(outbox.overflowed)
      yield* outbox.audio(new Uint8Array(80), 1)
      waiting = 80
      yield* outbox.audio(new Uint8Array(30), 1)
      yield* outbox.event({ type: "pong" })
      assert.strictEqual(socket.written.length, 1, "only the frame that fitted")
      yield* Fiber.join(watcher)
      waiting = 0
      yield* outbox.event({ type: "pong" })
      assert.strictEqual(socket.written.length, 1, "nothing more once overflowed")
    }).pipe(Effect.scoped)
)

it.effect("a frame larger than the bound still goes out when nothing waits in the socket", () =>
  Effect.gen(function* () {
    const socket = syncTransport(() => 0)
    const outbox = yield* makeOutbox(socket.transport, 100)
    yield* outbox.audio(new Uint8Array(500), 1)
    assert.strictEqual(socket.written.length, 1)
    const tripped = yield* Deferred.make<void>()
    const watcher = yield* Effect.forkChild(Effect.andThen(outbox.overflowed, Deferred.succeed(tripped, undefined)))
    yield* Effect.yieldNow
    assert.isFalse(yield* Deferred.isDone(tripped))
    yield* outbox.event({ type: "pong" })
    assert.strictEqual(socket.written.length, 2, "later frames still go out")
    yield* Fiber.interrupt(watcher)
  }).pipe(Effect.scoped)
)

it.effect("close closes the connection once; sends after it are dropped", () =>
  Effect.gen(function* () {
    const socket = syncTransport()
    const outbox = yield* makeOutbox(socket.transport)
    yield* outbox.event({ type: "pong", id: 1 })
    yield* outbox.close(1000, "bye")
    yield* outbox.close(1011, "again")
    yield* outbox.event({ type: "pong", id: 2 })
    assert.deepStrictEqual(socket.closed(), { code: 1000, reason: "bye" })
    assert.deepStrictEqual(socket.written, [JSON.stringify({ type: "pong", id: 1 })])
  }).pipe(Effect.scoped)
)

it.effect("after discardAudio(turn) that turn's audio is dropped; its events and other turns' audio still go out", () =>
  Effect.gen(function* () {
    const socket = syncTransport()
    const outbox = yield* makeOutbox(socket.transport)
    const cancelled = new Uint8Array([7])
    const next = new Uint8Array([8])
    yield* outbox.discardAudio(7)
    yield* outbox.audio(cancelled, 7)
    yield* outbox.event({ type: "pong", id: 1 })
    yield* outbox.audio(next, 8)
    assert.deepStrictEqual(socket.written, [JSON.stringify({ type: "pong", id: 1 }), next])
  }).pipe(Effect.scoped)
)

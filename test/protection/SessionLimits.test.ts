// Limits inside a session, under TestClock: messages per connection (then 1008 for a flood), turns per user,
// audio faster than real time, the idle timeout, and a client that stops reading (bounded outbound buffer).
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer } from "effect"
import { TestClock } from "effect/testing"
import type { ServerEvent } from "../../src/domain/Protocol.ts"
import { ProtectionLive } from "../../src/protection/ProtectionLive.ts"
import { runSession } from "../../src/session/Session.ts"
import type { Transport } from "../../src/session/Transport.ts"
import { pipelineLayer } from "../support/TestLayers.ts"
import { frame20ms, makeTestClient, settle } from "../support/TestTransport.ts"

const info = { sessionId: "s-1", userId: "u-1" }

const layer = (env: Record<string, string>) => ProtectionLive.pipe(Layer.provideMerge(pipelineLayer(env)))

const start = (wrap: (t: Transport) => Transport = (t) => t) =>
  Effect.gen(function* () {
    const client = yield* makeTestClient
    const shutdown = yield* Deferred.make<void>()
    const fiber = yield* Effect.forkChild(Effect.scoped(runSession(wrap(client.transport), info, shutdown)))
    yield* client.send({ type: "session.start" })
    yield* TestClock.adjust(1)
    return { client, fiber, shutdown }
  })

const limitedEvents = (events: ReadonlyArray<ServerEvent>) =>
  events.filter((e): e is Extract<ServerEvent, { type: "error" }> => e.type === "error" && e.code === "rate_limited")

describe("limits inside a session", () => {
  it.effect("messages past the per-connection limit get rate_limited with retryAfterMs; a flood is closed 1008", () =>
    Effect.gen(function* () {
      const { client, fiber } = yield* start()
      // session.start was message 1 of 5.
      for (let i = 0; i < 4; i++) yield* client.send({ type: "ping", id: i })
      assert.strictEqual(limitedEvents(client.events()).length, 0)
      yield* client.send({ type: "ping", id: 99 })
      const [refused] = limitedEvents(client.events())
      assert.isDefined(refused)
      assert.isTrue(refused!.recoverable)
      assert.isAbove(refused!.retryAfterMs ?? 0, 0)
      assert.isUndefined(client.events().find((e) => e.type === "pong" && e.id === 99))
      // After the window the client may talk again.
      yield* TestClock.adjust(1000)
      yield* client.send({ type: "ping", id: 100 })
      assert.isDefined(client.events().find((e) => e.type === "pong" && e.id === 100))
      // Keep flooding: past STREAM_BAD_MESSAGE_LIMIT refusals the connection is closed with 1008.
      for (let i = 0; i < 20 && client.closed() === undefined; i++) yield* client.send({ type: "ping", id: 200 + i })
      assert.strictEqual(client.closed()?.code, 1008)
      assert.strictEqual(yield* Fiber.join(fiber), "protocol_violation")
    }).pipe(
      Effect.provide(layer({ STREAM_RATE_LIMIT_MESSAGES_MAX: "5", STREAM_RATE_LIMIT_MESSAGES_WINDOW_MS: "1000" }))
    )
  )

  it.effect("turns past the per-user limit are refused with rate_limited; the session goes on", () =>
    Effect.gen(function* () {
      const { client, fiber } = yield* start()
      yield* client.send({ type: "input.text", text: "what is bitcoin doing" })
      yield* TestClock.adjust(10000)
      yield* client.send({ type: "input.text", text: "and ether" })
      yield* TestClock.adjust(10000)
      yield* client.send({ type: "input.text", text: "one more" })
      yield* TestClock.adjust(10000)
      const refused = limitedEvents(client.events())
      assert.strictEqual(refused.length, 1)
      assert.isUndefined(refused[0]!.turn)
      assert.isAbove(refused[0]!.retryAfterMs ?? 0, 0)
      assert.strictEqual(client.events().filter((e) => e.type === "response.done").length, 2)
      // The window passes: turns are answered again.
      yield* TestClock.adjust(60000)
      yield* client.send({ type: "input.text", text: "again" })
      yield* TestClock.adjust(10000)
      assert.strictEqual(client.events().filter((e) => e.type === "response.done").length, 3)
      yield* client.disconnect()
      assert.strictEqual(yield* Fiber.join(fiber), "client_closed")
    }).pipe(Effect.provide(layer({ STREAM_RATE_LIMIT_TURNS_MAX: "2", STREAM_RATE_LIMIT_TURNS_WINDOW_MS: "60000" })))
  )

  it.effect("audio faster than real time is refused once past the allowance, with one notice, then accepted", () =>
    Effect.gen(function* () {
      const { client, fiber } = yield* start()
      // 2 s of audio allowed ahead of the clock: 100 frames of 20 ms pass, the next ones do not.
      for (let i = 0; i < 100; i++) yield* client.sendRaw(frame20ms(false))
      assert.strictEqual(limitedEvents(client.events()).length, 0)
      for (let i = 0; i < 50; i++) yield* client.sendRaw(frame20ms(false))
      const refused = limitedEvents(client.events())
      assert.strictEqual(refused.length, 1)
      assert.isTrue(refused[0]!.recoverable)
      // Real time catches up: paced audio is accepted again, without new notices.
      for (let i = 0; i < 100; i++) {
        yield* TestClock.adjust(20)
        yield* client.sendRaw(frame20ms(false))
      }
      assert.strictEqual(limitedEvents(client.events()).length, 1)
      assert.isUndefined(client.closed())
      yield* client.disconnect()
      assert.strictEqual(yield* Fiber.join(fiber), "client_closed")
    }).pipe(Effect.provide(layer({ STREAM_AUDIO_MAX_AHEAD_MS: "2000" })))
  )

  it.effect("a session with no audio and no message for STREAM_IDLE_TIMEOUT_MS is closed politely", () =>
    Effect.gen(function* () {
      const { client, fiber } = yield* start()
      yield* TestClock.adjust(20000)
      yield* client.send({ type: "ping" })
      yield* TestClock.adjust(29000)
      assert.isUndefined(client.closed())
      yield* TestClock.adjust(1000)
      yield* settle
      assert.strictEqual(yield* Fiber.join(fiber), "idle_timeout")
      assert.deepStrictEqual(client.events().at(-1), { type: "session.ended", reason: "idle_timeout" })
      assert.strictEqual(client.closed()?.code, 1000)
    }).pipe(Effect.provide(layer({ STREAM_IDLE_TIMEOUT_MS: "30000" })))
  )

  it.effect("a client that does not read: past STREAM_MAX_OUTBOUND_BUFFER_BYTES the session ends (slow_consumer)", () =>
    Effect.gen(function* () {
      // A socket whose send buffer only grows: nothing is ever taken by the network.
      let buffered = 0
      const notReading = (t: Transport): Transport => ({
        ...t,
        sendAll: (frames) =>
          Effect.andThen(
            t.sendAll(frames),
            Effect.sync(() => {
              for (const frame of frames) buffered += typeof frame === "string" ? frame.length : frame.byteLength
            })
          ),
        pendingBytes: () => buffered
      })
      const { client, fiber } = yield* start(notReading)
      buffered = 0
      yield* client.send({ type: "input.text", text: "what is bitcoin doing" })
      yield* TestClock.adjust(20000)
      assert.strictEqual(yield* Fiber.join(fiber), "slow_consumer")
      assert.strictEqual(client.closed()?.code, 1008)
      assert.isAtMost(buffered, 64 * 1024)
    }).pipe(Effect.provide(layer({ STREAM_MAX_OUTBOUND_BUFFER_BYTES: "65536" })))
  )
})

// The Session actor under TestClock: whole conversations with exact events and latencies, cancellation,
// bad input, provider failures, shutdown, and teardown that leaves no provider stream open.
import { assert, describe, it } from "@effect/vitest"
import { Cause, Clock, Deferred, Effect, Fiber, Layer, Queue, Stream } from "effect"
import { TestClock } from "effect/testing"
import { AppConfig } from "../../src/config/AppConfig.ts"
import type { ServerEvent } from "../../src/domain/Protocol.ts"
import type { StoreRecord, TurnCompleted, UsageRecorded } from "../../src/persistence/Records.ts"
import { Llm, LlmError, type LlmRequest } from "../../src/pipeline/Llm.ts"
import { resilientLlm } from "../../src/pipeline/ResilientPorts.ts"
import { Stt, SttError, type SttEvent } from "../../src/pipeline/Stt.ts"
import { makeMockLlm } from "../../src/providers/mock/MockLlm.ts"
import { runSession } from "../../src/session/Session.ts"
import { markedFrame, markerOf } from "../support/MarkedAudio.ts"
import { OpenCounts, pipelineLayer } from "../support/TestLayers.ts"
import { frame20ms, makeTestClient, type TestClient } from "../support/TestTransport.ts"

const info = { sessionId: "s-1", userId: "u-1" }

/** Starts a session on an in-memory client; returns the client, the session fiber and its shutdown signal. */
const start = Effect.gen(function* () {
  const client = yield* makeTestClient
  const shutdown = yield* Deferred.make<void>()
  const fiber = yield* Effect.forkChild(Effect.scoped(runSession(client.transport, info, shutdown)))
  yield* client.send({ type: "session.start", client: { name: "test" } })
  yield* TestClock.adjust(1)
  return { client, fiber, shutdown }
})

/** Streams `speechMs` of loud audio then `silenceMs` of silence, 20 ms a frame, advancing the clock in step. */
const speak = (client: TestClient, speechMs: number, silenceMs: number) =>
  Effect.gen(function* () {
    for (let t = 0; t < speechMs + silenceMs; t += 20) {
      yield* client.sendRaw(frame20ms(t < speechMs))
      yield* TestClock.adjust(20)
    }
  })

const ofType = <T extends ServerEvent["type"]>(events: ReadonlyArray<ServerEvent>, type: T) =>
  events.filter((e): e is Extract<ServerEvent, { type: T }> => e.type === type)

const errorCodes = (client: TestClient) => ofType(client.events(), "error").map((e) => e.code)

/** Event types in order, with each run of text deltas collapsed to one entry. */
const sequence = (events: ReadonlyArray<ServerEvent>) => {
  const out: Array<string> = []
  for (const { type } of events) if (!(type === "response.text.delta" && out.at(-1) === type)) out.push(type)
  return out
}

const firstReply =
  "Bitcoin is at 97,250.12 USD, up 2.3 percent in 24 hours. The latest headline from Mock Wire: Bitcoin holds steady as markets await rate decision."
const etherReply =
  "Ethereum is at 3,412.55 USD, down 0.8 percent in 24 hours. The latest headline from Mock Wire: Bitcoin holds steady as markets await rate decision."

/** PCM16 bytes of mock TTS audio at 24 kHz and 60 ms per character, for a two-sentence reply: the space between
 *  the sentences is not spoken. */
const mockAudioBytes = (text: string) => (text.length - 1) * 60 * 24 * 2

/** The mock's reply to a question that names no asset. */
const mockReplyFor = (_question: string) =>
  "The latest headline from Mock Wire: Bitcoin holds steady as markets await rate decision."

/** An Llm that records each request it is given, over the mock adapter. */
const recordingLlm = (requests: Array<LlmRequest>) =>
  Layer.effect(
    Llm,
    Effect.map(Effect.service(Llm), (llm) =>
      Llm.of({
        ...llm,
        stream: (request) =>
          Stream.suspend(() => {
            requests.push(request)
            return llm.stream(request)
          })
      })
    )
  )

/** An Llm that fails `failures` times with the given retryability before it answers like the mock. */
const flakyLlm = (failures: number, retryable: boolean, calls: { n: number }) =>
  Layer.effect(
    Llm,
    Effect.gen(function* () {
      const config = yield* AppConfig
      const mock = makeMockLlm(config.mock)
      const raw = Llm.of({
        ...mock,
        stream: (request) =>
          Stream.suspend(() =>
            ++calls.n <= failures
              ? Stream.fail(new LlmError({ reason: "unavailable", retryable, message: "upstream 503" }))
              : mock.stream(request)
          )
      })
      return yield* resilientLlm(raw, config.policies.llm)
    })
  )

/** An Llm that never answers. */
const hangingLlm = Layer.effect(
  Llm,
  Effect.gen(function* () {
    const config = yield* AppConfig
    return yield* resilientLlm(
      Llm.of({ provider: "hang", model: "hang", stream: () => Stream.never }),
      config.policies.llm
    )
  })
)

describe("Session", () => {
  it.effect("an audio turn then a typed turn: exact events, texts, audio and latency breakdowns", () =>
    Effect.gen(function* () {
      const counts = new OpenCounts()
      const requests: Array<LlmRequest> = []
      yield* Effect.gen(function* () {
        const { client, fiber } = yield* start
        yield* speak(client, 1000, 600)
        yield* TestClock.adjust(5000)
        const turn1 = client.events().slice()
        assert.deepStrictEqual(sequence(turn1), [
          "session.started",
          "transcript.partial",
          "transcript.partial",
          "transcript.partial",
          "transcript.final",
          "context",
          "response.text.delta",
          "response.audio.start",
          "response.text.delta",
          "response.audio.done",
          "response.done"
        ])
        assert.deepStrictEqual(
          ofType(turn1, "transcript.partial").map((e) => e.text),
          ["What", "What is", "What is the"]
        )
        assert.deepStrictEqual(ofType(turn1, "transcript.final")[0], {
          type: "transcript.final",
          turn: 1,
          text: "What is the price of bitcoin today?"
        })
        assert.deepStrictEqual(
          ofType(turn1, "context")[0]?.context.prices.map((p) => p.symbol),
          ["BTC"]
        )
        assert.strictEqual(
          ofType(turn1, "response.text.delta")
            .map((e) => e.delta)
            .join(""),
          firstReply
        )
        const done1 = ofType(turn1, "response.done")[0]!
        assert.strictEqual(done1.text, firstReply)
        // stt: final 250 ms after end of speech; llm: 300 ms to the first token, 20 ms a token, the first sentence
        // is 11 tokens; tts: 150 ms to the first byte. 250 + 20 + 300 + 10·20 + 150 = 920; last of 25 tokens at
        // 300 + 24·20 = 780, its audio 150 ms later: 250 + 20 + 780 + 150 = 1200.
        assert.deepStrictEqual(done1.latency, {
          sttMs: 250,
          enrichmentMs: 20,
          llmFirstTokenMs: 300,
          ttsFirstByteMs: 150,
          firstAudioMs: 920,
          totalMs: 1200
        })
        assert.strictEqual(ofType(turn1, "response.audio.done")[0]?.bytes, mockAudioBytes(firstReply))
        assert.strictEqual(client.audioBytes(), mockAudioBytes(firstReply))

        yield* client.send({ type: "input.text", text: "And ether?" })
        yield* TestClock.adjust(10000)
        const turn2 = client.events().slice(turn1.length)
        assert.deepStrictEqual(sequence(turn2), [
          "context",
          "response.text.delta",
          "response.audio.start",
          "response.text.delta",
          "response.audio.done",
          "response.done"
        ])
        const done2 = ofType(turn2, "response.done")[0]!
        assert.strictEqual(done2.turn, 2)
        assert.strictEqual(done2.text, etherReply)
        assert.deepStrictEqual(done2.latency, {
          sttMs: null,
          enrichmentMs: 20,
          llmFirstTokenMs: 300,
          ttsFirstByteMs: 150,
          firstAudioMs: 670,
          totalMs: 950
        })
        // The second request carries the first turn as history.
        assert.deepStrictEqual(requests[1]?.messages, [
          { role: "user", content: "What is the price of bitcoin today?" },
          { role: "assistant", content: firstReply },
          { role: "user", content: "And ether?" }
        ])

        yield* client.disconnect()
        assert.strictEqual(yield* Fiber.join(fiber), "client_closed")
      }).pipe(Effect.provide(recordingLlm(requests).pipe(Layer.provideMerge(pipelineLayer({}, counts)))))
      assert.strictEqual(counts.total(), 0)
      assert.isAbove(counts.opened, 4)
    })
  )

  it.effect("response.cancel mid-reply stops text and audio at once; history keeps only what was sent", () =>
    Effect.gen(function* () {
      const counts = new OpenCounts()
      const requests: Array<LlmRequest> = []
      yield* Effect.gen(function* () {
        const { client, fiber } = yield* start
        yield* client.send({ type: "input.text", text: "bitcoin?" })
        // enrichment 20 + first token 300 + 5 more tokens at 20 ms = 6 tokens sent by 420 ms.
        yield* TestClock.adjust(430)
        yield* client.send({ type: "response.cancel" })
        const cancelled = ofType(client.events(), "response.cancelled")
        const sent = ofType(client.events(), "response.text.delta")
          .map((e) => e.delta)
          .join("")
        assert.strictEqual(sent, "Bitcoin is at 97,250.12 USD, up ")
        assert.deepStrictEqual(cancelled, [
          { type: "response.cancelled", turn: 1, reason: "client_cancel", textSent: sent }
        ])
        assert.strictEqual(counts.llm + counts.tts, 0)
        const before = client.events().length
        yield* TestClock.adjust(10000)
        assert.strictEqual(client.events().length, before, "nothing more is sent for a cancelled turn")
        assert.strictEqual(ofType(client.events(), "response.done").length, 0)

        yield* client.send({ type: "input.text", text: "and now?" })
        yield* TestClock.adjust(10000)
        assert.deepStrictEqual(requests[1]?.messages.slice(0, 2), [
          { role: "user", content: "bitcoin?" },
          { role: "assistant", content: sent }
        ])
        assert.strictEqual(ofType(client.events(), "response.done")[0]?.turn, 2)
        yield* client.disconnect()
        yield* Fiber.join(fiber)
      }).pipe(Effect.provide(recordingLlm(requests).pipe(Layer.provideMerge(pipelineLayer({}, counts)))))
      assert.strictEqual(counts.total(), 0)
    })
  )

  it.effect("a new turn interrupts the reply in flight, which is reported cancelled with reason new_turn", () =>
    Effect.gen(function* () {
      const { client } = yield* start
      yield* client.send({ type: "input.text", text: "bitcoin?" })
      yield* TestClock.adjust(700)
      assert.isAbove(client.audioBytes(), 0, "the first reply was already speaking")
      yield* client.send({ type: "input.text", text: "ether?" })
      yield* TestClock.adjust(10000)
      const events = client.events()
      const cancelled = ofType(events, "response.cancelled")
      assert.deepStrictEqual(
        cancelled.map((e) => [e.turn, e.reason]),
        [[1, "new_turn"]]
      )
      const cancelIndex = events.indexOf(cancelled[0]!)
      assert.isTrue(
        events.slice(cancelIndex + 1).every((e) => !("turn" in e) || e.turn === 2),
        "after the cancel, only turn 2 speaks"
      )
      assert.deepStrictEqual(
        ofType(events, "response.done").map((e) => [e.turn, e.text]),
        [[2, etherReply]]
      )
    }).pipe(Effect.provide(pipelineLayer()))
  )

  it.effect("bad messages get error events and the session goes on; a flood closes with 1008", () =>
    Effect.gen(function* () {
      const { client, fiber } = yield* start
      yield* client.sendRaw("not json")
      yield* client.send({ type: "input.text" })
      yield* client.send({ type: "input.text", text: "   " })
      yield* client.send({ type: "dance" })
      yield* client.sendRaw(new Uint8Array(3))
      yield* client.send({ type: "session.start" })
      yield* TestClock.adjust(1)
      assert.deepStrictEqual(
        ofType(client.events(), "error").map((e) => [e.code, e.recoverable]),
        [
          ["invalid_json", true],
          ["invalid_message", true],
          ["invalid_message", true],
          ["unknown_message_type", true],
          ["invalid_audio", true],
          ["session_already_started", true]
        ]
      )
      yield* client.send({ type: "input.text", text: "bitcoin?" })
      yield* TestClock.adjust(5000)
      assert.strictEqual(ofType(client.events(), "response.done").length, 1)

      // 6 bad so far within the 10 s window; the limit is 10, so 5 more make 11 and end the session.
      for (let i = 0; i < 5; i++) yield* client.sendRaw("{")
      const reason = yield* Fiber.join(fiber)
      const errors = ofType(client.events(), "error")
      assert.strictEqual(errors.at(-2)?.recoverable, true)
      assert.strictEqual(errors.at(-1)?.recoverable, false, "the message that ends the session says so")
      assert.strictEqual(reason, "protocol_violation")
      assert.deepStrictEqual(client.events().at(-1), { type: "session.ended", reason: "protocol_violation" })
      assert.strictEqual(client.closed()?.code, 1008)
    }).pipe(Effect.provide(pipelineLayer()))
  )

  it.effect("bad messages spread beyond the window do not add up to a flood", () =>
    Effect.gen(function* () {
      const { client, fiber } = yield* start
      for (let i = 0; i < 30; i++) {
        yield* client.sendRaw("nope")
        yield* TestClock.adjust(1001)
      }
      assert.strictEqual(ofType(client.events(), "error").length, 30)
      assert.isUndefined(client.closed())
      assert.isUndefined(fiber.pollUnsafe())
    }).pipe(Effect.provide(pipelineLayer()))
  )

  it.effect("audio or turns before session.start are refused with session_not_started; ping works any time", () =>
    Effect.gen(function* () {
      const client = yield* makeTestClient
      const shutdown = yield* Deferred.make<void>()
      yield* Effect.forkChild(Effect.scoped(runSession(client.transport, info, shutdown)))
      yield* client.send({ type: "ping", id: 7 })
      yield* client.sendRaw(frame20ms(true))
      yield* client.send({ type: "input.text", text: "hi" })
      yield* TestClock.adjust(1)
      assert.deepStrictEqual(client.events(), [
        { type: "pong", id: 7 },
        {
          type: "error",
          code: "session_not_started",
          message: "Send session.start before audio frames",
          recoverable: true
        },
        {
          type: "error",
          code: "session_not_started",
          message: "Send session.start before input.text",
          recoverable: true
        }
      ])
    }).pipe(Effect.provide(pipelineLayer()))
  )

  it.effect("audio sent in the same read as session.start waits for it and is heard, never refused", () =>
    Effect.gen(function* () {
      const client = yield* makeTestClient
      const shutdown = yield* Deferred.make<void>()
      yield* Effect.forkChild(Effect.scoped(runSession(client.transport, info, shutdown)))
      // 1 s of speech and 600 ms of silence arrive with session.start, before the session has handled anything.
      const frames = Array.from({ length: 80 }, (_, i) => frame20ms(i < 50))
      yield* client.sendBurst([{ type: "session.start" }, ...frames])
      // More than 64 frames were waiting: the session stopped reading the socket, then resumed once it caught up.
      assert.strictEqual(client.readPauses(), 1)
      assert.strictEqual(client.readResumes(), 1)
      yield* TestClock.adjust(5000)
      assert.deepStrictEqual(errorCodes(client), [])
      assert.strictEqual(client.events()[0]?.type, "session.started")
      assert.deepStrictEqual(
        ofType(client.events(), "transcript.final").map((e) => e.text),
        ["What is the price of bitcoin today?"]
      )
      assert.strictEqual(ofType(client.events(), "response.done").length, 1)
    }).pipe(Effect.provide(pipelineLayer()))
  )

  it.effect("a commit on silence gives no_speech; a commit right after an endpointed utterance adds nothing", () =>
    Effect.gen(function* () {
      const { client } = yield* start
      yield* speak(client, 0, 400)
      yield* client.send({ type: "input.commit" })
      yield* TestClock.adjust(1000)
      assert.deepStrictEqual(errorCodes(client), ["no_speech"])
      yield* speak(client, 600, 600)
      yield* client.send({ type: "input.commit" })
      yield* TestClock.adjust(5000)
      assert.deepStrictEqual(errorCodes(client), ["no_speech"])
      assert.deepStrictEqual(
        ofType(client.events(), "response.done").map((e) => e.turn),
        [1]
      )
    }).pipe(Effect.provide(pipelineLayer()))
  )

  it.effect("input.commit ends an utterance at once, without waiting for the silence endpoint", () =>
    Effect.gen(function* () {
      const { client } = yield* start
      yield* speak(client, 800, 0)
      yield* client.send({ type: "input.commit" })
      yield* TestClock.adjust(250)
      assert.strictEqual(ofType(client.events(), "transcript.final").length, 1)
      yield* TestClock.adjust(5000)
      assert.strictEqual(ofType(client.events(), "response.done")[0]?.latency.sttMs, 250)
    }).pipe(Effect.provide(pipelineLayer()))
  )

  it.effect("a commit after an endpointed utterance neither times out nor disturbs the next utterance", () =>
    Effect.gen(function* () {
      const { client } = yield* start
      yield* speak(client, 600, 800)
      yield* client.send({ type: "input.commit" })
      yield* TestClock.adjust(10000)
      yield* speak(client, 600, 800)
      yield* TestClock.adjust(10000)
      assert.deepStrictEqual(ofType(client.events(), "error"), [])
      const turns = (type: "transcript.partial" | "transcript.final" | "response.done") => [
        ...new Set(ofType(client.events(), type).map((e) => e.turn))
      ]
      assert.deepStrictEqual(turns("transcript.partial"), [1, 2])
      assert.deepStrictEqual(turns("transcript.final"), [1, 2])
      assert.deepStrictEqual(turns("response.done"), [1, 2])
      assert.deepStrictEqual(
        ofType(client.events(), "response.done").map((e) => e.latency.sttMs),
        [250, 250]
      )
    }).pipe(Effect.provide(pipelineLayer()))
  )

  it.effect("cancelling drops the reply audio still queued for a client that is not reading", () =>
    Effect.gen(function* () {
      const { client } = yield* start
      yield* client.pause
      yield* client.send({ type: "input.text", text: "bitcoin?" })
      yield* TestClock.adjust(700)
      yield* client.send({ type: "response.cancel" })
      yield* client.resume
      yield* TestClock.adjust(1000)
      assert.isAbove(ofType(client.events(), "response.text.delta").length, 0)
      assert.strictEqual(ofType(client.events(), "response.audio.start").length, 1, "audio had been produced")
      assert.strictEqual(client.audioBytes(), 0, "none of it reaches the client after the cancel")
      assert.strictEqual(ofType(client.events(), "response.cancelled").length, 1)
    }).pipe(Effect.provide(pipelineLayer()))
  )

  it.effect("an STT failure is reported with its turn, the STT restarts with backoff, the session keeps working", () =>
    Effect.gen(function* () {
      const attempts: Array<number> = []
      const failingTwice = Layer.effect(
        Stt,
        Effect.map(Effect.service(Stt), (stt) =>
          Stt.of({
            ...stt,
            transcribe: (input, format) =>
              Stream.suspend(() => {
                attempts.push(attempts.length)
                return attempts.length <= 2
                  ? stt
                      .transcribe(input, format)
                      .pipe(
                        Stream.take(1),
                        Stream.concat(
                          Stream.fail(
                            new SttError({ reason: "unavailable", retryable: false, message: "socket dropped" })
                          )
                        )
                      )
                  : stt.transcribe(input, format)
              })
          })
        )
      )
      yield* Effect.gen(function* () {
        const { client } = yield* start
        // The first stream fails after its first event (speech started): turn 1 is lost and reported. The restart
        // waits 200 ms ± 20 %, longer than these 100 ms.
        yield* speak(client, 100, 0)
        const errors = ofType(client.events(), "error")
        assert.deepStrictEqual(
          errors.map((e) => [e.code, e.turn, e.recoverable]),
          [["stt_failed", 1, true]]
        )
        assert.include(errors[0]!.message, "restarts in")
        // While the STT is down the session still answers.
        yield* client.send({ type: "ping", id: "still-here" })
        assert.deepStrictEqual(client.events().at(-1), { type: "pong", id: "still-here" })
        yield* speak(client, 600, 600)
        yield* speak(client, 600, 600)
        yield* TestClock.adjust(10000)
        assert.strictEqual(attempts.length, 3)
        assert.deepStrictEqual(errorCodes(client), ["stt_failed", "stt_failed"])
        assert.isAtLeast(ofType(client.events(), "response.done").length, 1)
      }).pipe(Effect.provide(failingTwice.pipe(Layer.provideMerge(pipelineLayer()))))
    })
  )

  it.effect("an STT stream that ends by itself is restarted like a failed one", () =>
    Effect.gen(function* () {
      let opened = 0
      const endsOnce = Layer.effect(
        Stt,
        Effect.map(Effect.service(Stt), (stt) =>
          Stt.of({
            ...stt,
            transcribe: (input, format) =>
              Stream.suspend(() => (++opened === 1 ? Stream.empty : stt.transcribe(input, format)))
          })
        )
      )
      yield* Effect.gen(function* () {
        const { client } = yield* start
        yield* TestClock.adjust(1000)
        assert.deepStrictEqual(errorCodes(client), ["stt_failed"])
        yield* speak(client, 600, 600)
        yield* TestClock.adjust(5000)
        assert.strictEqual(opened, 2)
        assert.strictEqual(ofType(client.events(), "response.done").length, 1)
      }).pipe(Effect.provide(endsOnce.pipe(Layer.provideMerge(pipelineLayer()))))
    })
  )

  it.effect("audio is dropped (and the client told once) rather than blocking the session when the STT stalls", () =>
    Effect.gen(function* () {
      const stalled = Layer.succeed(Stt, Stt.of({ provider: "stalled", transcribe: () => Stream.never }))
      yield* Effect.gen(function* () {
        const { client } = yield* start
        for (let i = 0; i < 400; i++) yield* client.sendRaw(frame20ms(true))
        yield* client.send({ type: "ping", id: 1 })
        assert.deepStrictEqual(client.events().at(-1), { type: "pong", id: 1 })
        assert.deepStrictEqual(errorCodes(client), ["audio_dropped"])
      }).pipe(Effect.provide(stalled.pipe(Layer.provideMerge(pipelineLayer()))))
    })
  )

  it.effect(
    "a retryable LLM failure is retried; past the retries the turn gets llm_failed and the next turn works",
    () =>
      Effect.gen(function* () {
        const calls = { n: 0 }
        yield* Effect.gen(function* () {
          const { client } = yield* start
          yield* client.send({ type: "input.text", text: "bitcoin?" })
          yield* TestClock.adjust(10000)
          assert.strictEqual(calls.n, 3, "one attempt and STREAM_LLM_RETRIES=2 retries")
          assert.deepStrictEqual(
            ofType(client.events(), "error").map((e) => [e.code, e.turn, e.recoverable]),
            [["llm_failed", 1, true]]
          )
          assert.strictEqual(ofType(client.events(), "response.done").length, 0)
          yield* client.send({ type: "input.text", text: "bitcoin?" })
          yield* TestClock.adjust(10000)
          assert.deepStrictEqual(
            ofType(client.events(), "response.done").map((e) => [e.turn, e.text]),
            [[2, firstReply]]
          )
        }).pipe(Effect.provide(flakyLlm(3, true, calls).pipe(Layer.provideMerge(pipelineLayer()))))
      })
  )

  it.effect("a non-retryable LLM failure is not retried", () =>
    Effect.gen(function* () {
      const calls = { n: 0 }
      yield* Effect.gen(function* () {
        const { client } = yield* start
        yield* client.send({ type: "input.text", text: "bitcoin?" })
        yield* TestClock.adjust(10000)
        assert.strictEqual(calls.n, 1)
        assert.deepStrictEqual(errorCodes(client), ["llm_failed"])
      }).pipe(Effect.provide(flakyLlm(1, false, calls).pipe(Layer.provideMerge(pipelineLayer()))))
    })
  )

  it.effect("an LLM that hangs hits the first-token timeout and the client gets llm_timeout", () =>
    Effect.gen(function* () {
      const { client } = yield* start
      yield* client.send({ type: "input.text", text: "bitcoin?" })
      // enrichment takes 20 ms, then the LLM has STREAM_LLM_TIMEOUT_MS = 2000 with no retries.
      yield* TestClock.adjust(20 + 1999)
      assert.strictEqual(ofType(client.events(), "error").length, 0)
      yield* TestClock.adjust(1)
      assert.deepStrictEqual(
        ofType(client.events(), "error").map((e) => [e.code, e.turn]),
        [["llm_timeout", 1]]
      )
      yield* client.send({ type: "ping" })
      yield* TestClock.adjust(1)
      assert.deepStrictEqual(client.events().at(-1), { type: "pong" })
    }).pipe(
      Effect.provide(
        hangingLlm.pipe(Layer.provideMerge(pipelineLayer({ STREAM_LLM_TIMEOUT_MS: "2000", STREAM_LLM_RETRIES: "0" })))
      )
    )
  )

  it.effect("a final transcript that never comes is reported as stt_timeout", () =>
    Effect.gen(function* () {
      const { client } = yield* start
      // Frames go out at 0, 20, 40 … ms; the 25th silent one (sent at 1080 ms) makes 500 ms of silence and ends the
      // speech, so 120 ms of the 3000 ms timeout have passed when speak returns at 1200 ms.
      yield* speak(client, 600, 600)
      yield* TestClock.adjust(2879)
      assert.deepStrictEqual(ofType(client.events(), "error"), [])
      yield* TestClock.adjust(1)
      assert.deepStrictEqual(
        ofType(client.events(), "error").map((e) => [e.code, e.turn]),
        [["stt_timeout", 1]]
      )
    }).pipe(
      Effect.provide(
        Layer.effect(
          Stt,
          Effect.map(Effect.service(Stt), (stt) =>
            Stt.of({
              ...stt,
              transcribe: (input, format) =>
                stt.transcribe(input, format).pipe(Stream.filter((e) => e._tag !== "Final"))
            })
          )
        ).pipe(Layer.provideMerge(pipelineLayer({ STREAM_STT_TIMEOUT_MS: "3000" })))
      )
    )
  )

  it.effect("shutdown lets the reply finish, then ends the session with server_shutdown and close 1012", () =>
    Effect.gen(function* () {
      const counts = new OpenCounts()
      yield* Effect.gen(function* () {
        const { client, fiber, shutdown } = yield* start
        yield* client.send({ type: "input.text", text: "bitcoin?" })
        yield* TestClock.adjust(400)
        yield* Deferred.succeed(shutdown, undefined)
        yield* TestClock.adjust(5000)
        assert.strictEqual(yield* Fiber.join(fiber), "server_shutdown")
        const events = client.events()
        assert.deepStrictEqual(
          events.slice(-2).map((e) => e.type),
          ["response.done", "session.ended"]
        )
        assert.deepStrictEqual(events.at(-1), { type: "session.ended", reason: "server_shutdown" })
        assert.strictEqual(client.closed()?.code, 1012)
      }).pipe(Effect.provide(pipelineLayer({}, counts)))
      assert.strictEqual(counts.total(), 0)
    })
  )

  it.effect("shutdown does not wait past the grace period for a reply", () =>
    Effect.gen(function* () {
      const { client, fiber, shutdown } = yield* start
      yield* client.send({ type: "input.text", text: "bitcoin?" })
      yield* TestClock.adjust(400)
      yield* Deferred.succeed(shutdown, undefined)
      yield* TestClock.adjust(100)
      assert.strictEqual(yield* Fiber.join(fiber), "server_shutdown")
      assert.deepStrictEqual(
        ofType(client.events(), "response.cancelled").map((e) => e.reason),
        ["session_end"]
      )
      assert.strictEqual(client.closed()?.code, 1012)
    }).pipe(Effect.provide(pipelineLayer({ STREAM_SHUTDOWN_GRACE_MS: "100" })))
  )

  it.effect("a disconnect mid-reply releases every provider stream and stops all the session's work", () =>
    Effect.gen(function* () {
      const counts = new OpenCounts()
      yield* Effect.gen(function* () {
        const { client, fiber } = yield* start
        yield* speak(client, 600, 100)
        yield* client.send({ type: "input.text", text: "bitcoin?" })
        yield* TestClock.adjust(700)
        assert.isAbove(counts.llm + counts.tts, 0, "a reply is streaming")
        assert.strictEqual(counts.stt, 1)
        yield* client.disconnect({ _tag: "ClosedByPeer", code: 1006 })
        assert.strictEqual(yield* Fiber.join(fiber), "client_closed")
        assert.strictEqual(counts.total(), 0)
        const before = client.events().length
        yield* TestClock.adjust(60000)
        assert.strictEqual(client.events().length, before)
      }).pipe(Effect.provide(pipelineLayer({}, counts)))
      assert.strictEqual(counts.total(), 0)
    })
  )

  it.effect("the history is bounded to STREAM_HISTORY_MAX_TURNS turns", () =>
    Effect.gen(function* () {
      const requests: Array<LlmRequest> = []
      yield* Effect.gen(function* () {
        const { client } = yield* start
        for (let i = 0; i < 5; i++) {
          yield* client.send({ type: "input.text", text: `question ${i}` })
          yield* TestClock.adjust(5000)
        }
        // Two earlier turns (4 messages) plus the current question.
        assert.deepStrictEqual(
          requests[4]?.messages.map((m) => (m.role === "user" ? m.content : "reply")),
          ["question 2", "reply", "question 3", "reply", "question 4"]
        )
      }).pipe(
        Effect.provide(
          recordingLlm(requests).pipe(Layer.provideMerge(pipelineLayer({ STREAM_HISTORY_MAX_TURNS: "2" })))
        )
      )
    })
  )
})

describe("Session records", () => {
  it.effect("the session, each turn as sent (done, cancelled), usage per provider, and the end go to the store", () =>
    Effect.gen(function* () {
      const records: Array<StoreRecord> = []
      yield* Effect.gen(function* () {
        const { client, fiber } = yield* start
        yield* speak(client, 1000, 600)
        yield* TestClock.adjust(5000)
        yield* client.send({ type: "input.text", text: "bitcoin?" })
        yield* TestClock.adjust(430)
        yield* client.send({ type: "response.cancel" })
        yield* client.disconnect()
        yield* Fiber.join(fiber)
      }).pipe(Effect.provide(pipelineLayer({}, undefined, records)))
      const tags = records.map((r) => r._tag)
      assert.strictEqual(tags[0], "SessionStarted")
      assert.strictEqual(tags.at(-1), "SessionEnded")
      const turns = records.filter((r): r is TurnCompleted => r._tag === "TurnCompleted")
      assert.deepStrictEqual(
        turns.map((t) => [t.seq, t.inputKind, t.userText, t.interrupted, t.errorCode]),
        [
          [1, "audio", "What is the price of bitcoin today?", false, null],
          [2, "text", "bitcoin?", true, null]
        ]
      )
      assert.strictEqual(turns[0]!.assistantText, firstReply)
      assert.deepStrictEqual(
        [turns[0]!.sttMs, turns[0]!.llmFirstTokenMs, turns[0]!.firstAudioMs, turns[0]!.totalMs],
        [250, 300, 920, 1200]
      )
      assert.strictEqual(turns[1]!.assistantText, "Bitcoin is at 97,250.12 USD, up ")
      const usage = records.filter((r): r is UsageRecorded => r._tag === "UsageRecorded" && r.turnSeq === 1)
      assert.deepStrictEqual(
        usage.map((u) => [u.kind, u.provider, u.audioSeconds, u.outputTokens, u.characters, u.requests]),
        [
          ["stt", "mock", 1, 0, 0, 0],
          ["enrichment", "mock", 0, 0, 0, 1],
          ["llm", "mock", 0, 25, 0, 1],
          ["tts", "mock", 0, 0, firstReply.length - 1, 2]
        ]
      )
      const ended = records.at(-1)
      assert.strictEqual(ended?._tag === "SessionEnded" && ended.reason, "client_closed")
    })
  )

  it.effect("with STREAM_HISTORY_TURNS, a new session of the same user starts with their last turns", () =>
    Effect.gen(function* () {
      const records: Array<StoreRecord> = []
      const requests: Array<LlmRequest> = []
      const layer = recordingLlm(requests).pipe(
        Layer.provideMerge(pipelineLayer({ STREAM_HISTORY_TURNS: "1" }, undefined, records))
      )
      const oneTurn = (text: string) =>
        Effect.gen(function* () {
          const { client, fiber } = yield* start
          yield* client.send({ type: "input.text", text })
          yield* TestClock.adjust(5000)
          yield* client.disconnect()
          yield* Fiber.join(fiber)
        })
      yield* oneTurn("first question").pipe(Effect.provide(layer))
      yield* oneTurn("second question").pipe(Effect.provide(layer))
      assert.deepStrictEqual(
        requests[1]?.messages.map((m) => m.content),
        ["first question", mockReplyFor("first question"), "second question"]
      )
    })
  )
})

describe("Session with an STT that takes audio in the push form", () => {
  it.effect("frames reach the taker as they are sent; after a failure the restarted call gets every later frame", () =>
    Effect.gen(function* () {
      // Each transcribe call attaches and records the frames it is handed; the first one fails at its third frame.
      const calls: Array<Array<number>> = []
      const pushing = Layer.succeed(
        Stt,
        Stt.of({
          provider: "pushing",
          transcribe: (audio) =>
            Stream.callback<SttEvent, SttError>((out) =>
              Effect.suspend(() => {
                const frames: Array<number> = []
                const first = calls.push(frames) === 1
                return audio.attach((item) => {
                  if (item._tag !== "Audio") return true
                  frames.push(markerOf(item.pcm))
                  if (first && frames.length === 3) {
                    Queue.failCauseUnsafe(
                      out,
                      Cause.fail(new SttError({ reason: "unavailable", retryable: true, message: "socket dropped" }))
                    )
                  }
                  return true
                })
              })
            )
        })
      )
      yield* Effect.gen(function* () {
        const { client } = yield* start
        for (let i = 1; i <= 3; i++) yield* client.sendRaw(markedFrame(i))
        assert.deepStrictEqual(calls, [[1, 2, 3]], "each frame was handed over by the time sendRaw returned")
        assert.deepStrictEqual(errorCodes(client), ["stt_failed"])
        // The restart waits 200 ms ± 20 %: these frames wait in the buffer meanwhile.
        for (let i = 4; i <= 8; i++) yield* client.sendRaw(markedFrame(i))
        assert.strictEqual(calls.length, 1)
        yield* TestClock.adjust(300)
        assert.strictEqual(calls.length, 2)
        for (let i = 9; i <= 10; i++) yield* client.sendRaw(markedFrame(i))
        assert.deepStrictEqual(calls[1], [4, 5, 6, 7, 8, 9, 10])
        assert.deepStrictEqual(calls[0], [1, 2, 3])
        assert.deepStrictEqual(errorCodes(client), ["stt_failed"])
      }).pipe(Effect.provide(pushing.pipe(Layer.provideMerge(pipelineLayer()))))
    })
  )
})

describe("Session with overlapping utterances", () => {
  it.effect("speech resuming before the previous final: each final gets its own turn and its own stt latency", () =>
    Effect.gen(function* () {
      // A scripted STT: utterance 1 ends at 100 ms, utterance 2 starts at 150 ms, the first final comes at 300 ms,
      // utterance 2 ends at 400 ms, its final at 450 ms.
      const scripted = Layer.succeed(
        Stt,
        Stt.of({
          provider: "scripted",
          transcribe: () =>
            Stream.fromIterable<[number, SttEvent]>([
              [0, { _tag: "SpeechStarted" }],
              [100, { _tag: "SpeechEnded" }],
              [50, { _tag: "SpeechStarted" }],
              [150, { _tag: "Final", text: "first words", audioMs: 100 }],
              [100, { _tag: "SpeechEnded" }],
              [50, { _tag: "Final", text: "second words", audioMs: 250 }]
            ]).pipe(
              Stream.mapEffect(([delay, event]) => Effect.as(Effect.sleep(delay), event)),
              Stream.concat(Stream.never)
            )
        })
      )
      yield* Effect.gen(function* () {
        const { client } = yield* start
        yield* TestClock.adjust(10_000)
        assert.deepStrictEqual(
          ofType(client.events(), "transcript.final").map((e) => [e.turn, e.text]),
          [
            [1, "first words"],
            [2, "second words"]
          ]
        )
        const latencies = ofType(client.events(), "response.cancelled").length
        assert.strictEqual(latencies, 1, "turn 2 replaced turn 1's reply")
        assert.deepStrictEqual(
          ofType(client.events(), "response.done").map((e) => [e.turn, e.latency.sttMs]),
          [[2, 50]]
        )
        assert.deepStrictEqual(errorCodes(client), [])
      }).pipe(Effect.provide(scripted.pipe(Layer.provideMerge(pipelineLayer()))))
    })
  )
})

describe("Session with a provider that dates the end of speech", () => {
  it.effect("sttMs is measured from the provider's end of speech, not from when it said so", () =>
    Effect.gen(function* () {
      // Like Deepgram: SpeechEnded and Final arrive together at 500 ms, the speech having ended at 300 ms.
      const dating = Layer.succeed(
        Stt,
        Stt.of({
          provider: "dating",
          transcribe: () =>
            Stream.fromEffect(
              Effect.gen(function* () {
                yield* Effect.sleep(500)
                const now = yield* Clock.currentTimeMillis
                return [
                  { _tag: "SpeechEnded" },
                  { _tag: "Final", text: "dated words", audioMs: 300, speechEndedAt: now - 200 }
                ] as Array<SttEvent>
              })
            ).pipe(Stream.flattenIterable, Stream.concat(Stream.never))
        })
      )
      yield* Effect.gen(function* () {
        const { client } = yield* start
        yield* TestClock.adjust(10_000)
        assert.deepStrictEqual(
          ofType(client.events(), "response.done").map((e) => e.latency.sttMs),
          [200]
        )
      }).pipe(Effect.provide(dating.pipe(Layer.provideMerge(pipelineLayer()))))
    })
  )
})

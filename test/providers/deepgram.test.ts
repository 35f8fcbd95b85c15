// The Deepgram adapters, running the real @deepgram/sdk against the local fake (test/fakes/DeepgramFake.ts): the
// conformance suites, what Deepgram receives (auth, parameters, audio, KeepAlive / Finalize / CloseStream), how its
// messages become utterances, every failure classified (handshake and HTTP statuses, timeouts, drops, malformed
// messages) with nothing left hanging, interruption closing the socket, and whole samples at the requested rate.
// Live tests against Deepgram itself run only when DEEPGRAM_API_KEY is set.
import { DeepgramError, DeepgramTimeoutError } from "@deepgram/sdk"
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Fiber, Layer, Option, Queue, Redacted, Result, Stream } from "effect"
import { afterAll, beforeAll, beforeEach } from "vitest"
import { tone } from "../../src/audio/Pcm.ts"
import type { DeepgramSettings } from "../../src/config/ProviderSettings.ts"
import { type AudioFormat, pcm16Format } from "../../src/domain/Audio.ts"
import { Stt, type SttError, type SttEvent, type SttInput, SttInputCapacity } from "../../src/pipeline/Stt.ts"
import { Tts, type TtsError } from "../../src/pipeline/Tts.ts"
import {
  type DeepgramSttOptions,
  makeDeepgramStt,
  maxBufferedAudioBytes
} from "../../src/providers/deepgram/DeepgramStt.ts"
import { makeDeepgramTts, speakRate } from "../../src/providers/deepgram/DeepgramTts.ts"
import { classifyRestError, classifySocketError } from "../../src/providers/deepgram/errors.ts"
import { Utterances } from "../../src/providers/deepgram/Utterances.ts"
import { type DeepgramFake, type ListenConnection, startDeepgramFake } from "../fakes/DeepgramFake.ts"
import { markedFrame, openAudioGate } from "../support/MarkedAudio.ts"
import { sttAudioFromIterable, sttAudioFromStream } from "../support/SttAudioStream.ts"
import { speechFrames, sttConformance, ttsConformance } from "./conformance.ts"

let fake: DeepgramFake
beforeAll(async () => {
  fake = await startDeepgramFake()
})
afterAll(() => fake.close())
beforeEach(() => fake.script())

const settings = (apiKey: string | undefined = fake.apiKey): DeepgramSettings => ({
  apiKey: apiKey === undefined ? Option.none() : Option.some(Redacted.make(apiKey)),
  baseUrl: Option.some(fake.url),
  sttModel: "nova-3",
  ttsModel: "aura-2-thalia-en"
})

const sttOptions: DeepgramSttOptions = { connectTimeoutMs: 2000, keepAliveMs: 3000 }
const stt = (options: Partial<DeepgramSttOptions> = {}, apiKey?: string) =>
  makeDeepgramStt(settings(apiKey), { ...sttOptions, ...options })
const tts = (timeoutMs = 2000, apiKey?: string) => makeDeepgramTts(settings(apiKey), { timeoutMs })

const format16k = pcm16Format(16000)
const commit: SttInput = { _tag: "Commit" }
const speechThenCommit = (format: AudioFormat = format16k): Array<SttInput> => [
  ...speechFrames(format, 600, 100),
  commit
]

/** Runs one transcribe over `input` to its end: its events, or its error. */
const transcribe = (
  input: ReadonlyArray<SttInput> | Stream.Stream<SttInput>,
  options: Partial<DeepgramSttOptions> = {},
  format: AudioFormat = format16k,
  apiKey?: string
) =>
  Stream.runCollect(
    stt(options, apiKey).transcribe(
      sttAudioFromStream(Stream.isStream(input) ? input : Stream.fromIterable(input)),
      format
    )
  ).pipe(
    Effect.map((events) => Array.from(events)),
    Effect.result,
    Effect.timeout("10 seconds")
  )

const finals = (events: ReadonlyArray<SttEvent>) =>
  events.filter((e): e is Extract<SttEvent, { _tag: "Final" }> => e._tag === "Final")

const expectSttError = (result: Result.Result<Array<SttEvent>, SttError>): SttError => {
  if (Result.isSuccess(result)) return assert.fail(`expected an SttError, got ${JSON.stringify(result.success)}`)
  return result.failure
}

/** The listen connections the fake saw from here on. */
const connectionsFrom = () => {
  const before = fake.connections.length
  return () => fake.connections.slice(before) as Array<ListenConnection>
}
const controlTypes = (connection: ListenConnection | undefined) => connection?.controls.map((c) => c.type) ?? []
const waitFor = (check: () => boolean, timeoutMs?: number) => Effect.promise(() => fake.waitFor(check, timeoutMs))

const silenceFor = (ms: number) => Stream.fromEffect(Effect.sleep(ms)).pipe(Stream.drain)

describe("Deepgram STT: conformance", () => {
  beforeEach(() => fake.script({ transcript: "bitcoin is up today" }))
  sttConformance(() => Layer.succeed(Stt, stt()), { expectedText: "bitcoin is up today" })
})

describe("Deepgram STT: conformance at 48 kHz input", () => {
  beforeEach(() => fake.script({ transcript: "bitcoin is up today" }))
  sttConformance(() => Layer.succeed(Stt, stt()), { expectedText: "bitcoin is up today", format: pcm16Format(48000) })
})

describe("Deepgram STT: what Deepgram receives", () => {
  it.live("Token auth, the model, linear16 at the session's rate, interim results; audio, Finalize, CloseStream", () =>
    Effect.gen(function* () {
      const seen = connectionsFrom()
      const format = pcm16Format(24000)
      const frames = speechFrames(format, 600, 100)
      const events = yield* transcribe([...frames, commit], {}, format)
      assert.isTrue(Result.isSuccess(events))
      const [connection] = seen()
      assert.isDefined(connection)
      assert.strictEqual(connection!.headers.authorization, `Token ${fake.apiKey}`)
      assert.deepInclude(connection!.query, {
        model: "nova-3",
        encoding: "linear16",
        sample_rate: "24000",
        channels: "1",
        interim_results: "true",
        endpointing: "300",
        utterance_end_ms: "1000",
        vad_events: "true",
        smart_format: "true",
        punctuate: "true"
      })
      assert.strictEqual(connection!.audioFrames, frames.length)
      assert.strictEqual(connection!.audioBytes, frames.length * 960)
      assert.deepStrictEqual(connection!.controls, [
        { type: "Finalize", afterAudioFrames: frames.length },
        { type: "CloseStream", afterAudioFrames: frames.length }
      ])
      assert.strictEqual(connection!.closedBy, "server")
      assert.strictEqual(connection!.closeCode, 1000)
    })
  )

  it.live("KeepAlive is sent while no audio flows, and keeps an idle-closing stream open", () =>
    Effect.gen(function* () {
      fake.script({ idleTimeoutMs: 400 })
      const seen = connectionsFrom()
      const input = Stream.concat(Stream.fromIterable(speechFrames(format16k, 100, 0)), silenceFor(1000))
      const result = yield* transcribe(input, { keepAliveMs: 100 })
      assert.isTrue(Result.isSuccess(result), "the stream ended cleanly")
      const keepAlives = controlTypes(seen()[0]).filter((t) => t === "KeepAlive")
      assert.isAtLeast(keepAlives.length, 6)
      assert.isAtMost(keepAlives.length, 11)
    })
  )

  it.live("without KeepAlive the service's idle close (1011) fails the stream, retryable", () =>
    Effect.gen(function* () {
      fake.script({ idleTimeoutMs: 200 })
      const seen = connectionsFrom()
      const input = Stream.concat(Stream.fromIterable(speechFrames(format16k, 100, 0)), Stream.never)
      const error = expectSttError(yield* transcribe(input, { keepAliveMs: 10_000 }))
      assert.strictEqual(error.reason, "unavailable")
      assert.isTrue(error.retryable)
      assert.include(error.message, "1011")
      assert.notInclude(controlTypes(seen()[0]), "KeepAlive")
    })
  )

  it.live("audio is sent as it comes, before the input ends", () =>
    Effect.gen(function* () {
      const seen = connectionsFrom()
      const frames = speechFrames(format16k, 200, 0)
      const fiber = yield* Effect.forkChild(
        Stream.runDrain(
          stt().transcribe(sttAudioFromStream(Stream.concat(Stream.fromIterable(frames), Stream.never)), format16k)
        )
      )
      yield* waitFor(() => seen()[0]?.audioFrames === frames.length)
      assert.deepStrictEqual(controlTypes(seen()[0]), [])
      yield* Fiber.interrupt(fiber)
    })
  )
})

describe("Deepgram STT: utterances", () => {
  it.live("one utterance: SpeechStarted, growing Partials, then SpeechEnded and the Final with audioMs", () =>
    Effect.gen(function* () {
      fake.script({ transcript: "what is the price of bitcoin" })
      const sentFrom = yield* Clock.currentTimeMillis
      const events = (yield* transcribe(speechThenCommit())).pipe(Result.getOrThrow)
      const finishedAt = yield* Clock.currentTimeMillis
      const tags = events.map((e) => e._tag)
      assert.strictEqual(tags[0], "SpeechStarted")
      assert.deepStrictEqual(tags.slice(-2), ["SpeechEnded", "Final"])
      const partials = events.flatMap((e) => (e._tag === "Partial" ? [e.text] : []))
      assert.deepStrictEqual(partials, ["what", "what is", "what is the"])
      const [final] = finals(events)
      const { speechEndedAt, ...rest } = final as Extract<SttEvent, { _tag: "Final" }>
      assert.deepStrictEqual(rest, { _tag: "Final", text: "what is the price of bitcoin", audioMs: 700 })
      // Dated when the audio of the last word was sent: inside the run, and before the final came back.
      assert.isNumber(speechEndedAt)
      assert.isAtLeast(speechEndedAt!, sentFrom)
      assert.isAtMost(speechEndedAt!, finishedAt)
    })
  )

  it.live("speech_final endpointing ends each utterance without a commit, in order", () =>
    Effect.gen(function* () {
      fake.script({ transcript: ["first one", "second one"], endpointing: "speech_final" })
      const input = [...speechFrames(format16k, 400, 400), ...speechFrames(format16k, 400, 400)]
      const events = (yield* transcribe(input)).pipe(Result.getOrThrow)
      assert.deepStrictEqual(
        finals(events).map((f) => f.text),
        ["first one", "second one"]
      )
      assert.deepStrictEqual(
        events.map((e) => e._tag).filter((t) => t !== "Partial"),
        ["SpeechStarted", "SpeechEnded", "Final", "SpeechStarted", "SpeechEnded", "Final"]
      )
    })
  )

  it.live("UtteranceEnd ends an utterance whose finals were not speech_final", () =>
    Effect.gen(function* () {
      fake.script({ transcript: "hello there", endpointing: "utterance_end" })
      const events = (yield* transcribe(speechFrames(format16k, 400, 400))).pipe(Result.getOrThrow)
      assert.deepStrictEqual(
        finals(events).map((f) => f.text),
        ["hello there"]
      )
    })
  )

  it.live("a commit with no speech gives one empty Final", () =>
    Effect.gen(function* () {
      const events = (yield* transcribe([...speechFrames(format16k, 0, 300), commit])).pipe(Result.getOrThrow)
      assert.deepStrictEqual(
        events.map((e) => e._tag),
        ["SpeechEnded", "Final"]
      )
      assert.strictEqual(finals(events)[0]!.text, "")
    })
  )

  it.live("a commit right after an endpointed utterance adds nothing", () =>
    Effect.gen(function* () {
      fake.script({ endpointing: "speech_final" })
      const events = (yield* transcribe([...speechFrames(format16k, 400, 400), commit])).pipe(Result.getOrThrow)
      assert.deepStrictEqual(
        finals(events).map((f) => f.text),
        ["hello world"]
      )
    })
  )

  it.live(
    "a Finalize left unanswered ends the utterance after finalizeTimeoutMs; a missing close after closeTimeoutMs",
    () =>
      Effect.gen(function* () {
        fake.script({ silent: true })
        const events = (yield* transcribe(speechThenCommit(), { finalizeTimeoutMs: 150, closeTimeoutMs: 150 })).pipe(
          Result.getOrThrow
        )
        assert.deepStrictEqual(
          events.map((e) => e._tag),
          ["SpeechEnded", "Final"]
        )
      })
  )

  it.live("slow messages still give the Final, in order", () =>
    Effect.gen(function* () {
      fake.script({ messageDelayMs: 30 })
      const events = (yield* transcribe(speechThenCommit())).pipe(Result.getOrThrow)
      assert.deepStrictEqual(
        finals(events).map((f) => f.text),
        ["hello world"]
      )
      assert.strictEqual(events.at(-1)!._tag, "Final")
    })
  )
})

describe("Deepgram STT: failures", () => {
  it.live("a wrong key: the handshake's 401 is unauthorized, not retryable, and the key is not in the message", () =>
    Effect.gen(function* () {
      const seen = connectionsFrom()
      const error = expectSttError(yield* transcribe(speechThenCommit(), {}, format16k, "wrong-key"))
      assert.deepInclude(error, { reason: "unauthorized", retryable: false })
      assert.notInclude(error.message, "wrong-key")
      assert.strictEqual(seen()[0]?.rejectedWith, 401)
      assert.strictEqual(seen().length, 1, "no reconnect")
    })
  )

  it.live("no API key: unauthorized without connecting", () =>
    Effect.gen(function* () {
      const seen = connectionsFrom()
      const result = yield* Stream.runCollect(
        makeDeepgramStt({ ...settings(), apiKey: Option.none() }, sttOptions).transcribe(
          sttAudioFromStream(Stream.empty),
          format16k
        )
      ).pipe(
        Effect.map((events) => Array.from(events)),
        Effect.result
      )
      assert.deepInclude(expectSttError(result), { reason: "unauthorized", retryable: false })
      assert.strictEqual(seen().length, 0)
    })
  )

  for (const [status, reason, retryable] of [
    [403, "unauthorized", false],
    [429, "rate_limited", true],
    [500, "unavailable", true],
    [400, "bad_request", false]
  ] as const) {
    it.live(`a handshake refused with ${status} is ${reason}, retryable ${retryable}, and not retried`, () =>
      Effect.gen(function* () {
        fake.script({ handshakeStatus: status, retryAfter: "2" })
        const seen = connectionsFrom()
        const error = expectSttError(yield* transcribe(speechThenCommit()))
        assert.deepInclude(error, { reason, retryable })
        assert.include(error.message, String(status))
        assert.strictEqual(seen().length, 1)
      })
    )
  }

  it.live("a handshake that never completes times out after connectTimeoutMs, retryable", () =>
    Effect.gen(function* () {
      fake.script({ hangHandshake: true })
      const start = performance.now()
      const error = expectSttError(yield* transcribe(speechThenCommit(), { connectTimeoutMs: 300 }))
      assert.deepInclude(error, { reason: "timeout", retryable: true })
      assert.isBelow(performance.now() - start, 2000)
    })
  )

  it.live("a socket dropped mid-utterance fails the stream, retryable, even while the input stays open", () =>
    Effect.gen(function* () {
      fake.script({ dropAfterAudioMs: 300 })
      const seen = connectionsFrom()
      const input = Stream.concat(Stream.fromIterable(speechFrames(format16k, 600, 0)), Stream.never)
      const error = expectSttError(yield* transcribe(input))
      assert.deepInclude(error, { reason: "unavailable", retryable: true })
      assert.include(error.message, "1006")
      assert.strictEqual(seen().length, 1, "the SDK did not reconnect")
    })
  )

  it.live("a server close while the input is open fails the stream (an STT stream must not just end)", () =>
    Effect.gen(function* () {
      fake.script({ closeAfterAudioMs: { ms: 100, code: 1000 } })
      const input = Stream.concat(Stream.fromIterable(speechFrames(format16k, 300, 0)), Stream.never)
      const error = expectSttError(yield* transcribe(input))
      assert.deepInclude(error, { reason: "unavailable", retryable: true })
    })
  )

  it.live("a message that is not JSON is a protocol error, retryable, that quotes nothing", () =>
    Effect.gen(function* () {
      fake.script({ malformedAfterAudioMs: 100 })
      const input = Stream.concat(Stream.fromIterable(speechFrames(format16k, 300, 0)), Stream.never)
      const error = expectSttError(yield* transcribe(input))
      assert.deepInclude(error, { reason: "protocol", retryable: true })
      assert.notInclude(error.message, "this is not json")
    })
  )

  it.live("after a failure, a new transcribe on the rest of the same input works (how the Session restarts it)", () =>
    Effect.gen(function* () {
      fake.script({ dropAfterAudioMs: 100 })
      const audio = yield* Queue.unbounded<SttInput>()
      yield* Queue.offerAll(audio, speechFrames(format16k, 200, 0))
      const failed = yield* Stream.runCollect(
        stt().transcribe(sttAudioFromStream(Stream.fromQueue(audio)), format16k)
      ).pipe(Effect.flip, Effect.timeout("5 seconds"))
      assert.deepInclude(failed, { reason: "unavailable", retryable: true })
      fake.script({ transcript: "second try" })
      yield* Queue.offerAll(audio, speechThenCommit())
      const events = yield* Stream.runCollect(
        stt()
          .transcribe(sttAudioFromStream(Stream.fromQueue(audio)), format16k)
          .pipe(Stream.takeUntil((e) => e._tag === "Final"))
      ).pipe(Effect.timeout("5 seconds"))
      assert.deepStrictEqual(
        finals(Array.from(events)).map((f) => f.text),
        ["second try"]
      )
    })
  )

  it.live("interrupting the stream closes the socket (the fake sees the client's close 1000)", () =>
    Effect.gen(function* () {
      const seen = connectionsFrom()
      const input = Stream.concat(Stream.fromIterable(speechFrames(format16k, 200, 0)), Stream.never)
      const fiber = yield* Effect.forkChild(Stream.runDrain(stt().transcribe(sttAudioFromStream(input), format16k)))
      yield* waitFor(() => (seen()[0]?.audioFrames ?? 0) > 0)
      yield* Fiber.interrupt(fiber)
      yield* waitFor(() => seen()[0]?.closed === true)
      assert.strictEqual(seen()[0]!.closedBy, "client")
      assert.strictEqual(seen()[0]!.closeCode, 1000)
      assert.notInclude(controlTypes(seen()[0]), "CloseStream")
    })
  )
})

describe("Deepgram STT: audio in the push form", () => {
  it.live("frames offered during the handshake reach Deepgram once it opens, first and in order, then live ones", () =>
    Effect.gen(function* () {
      fake.script({ handshakeDelayMs: 200 })
      const seen = connectionsFrom()
      const { gate, audio } = yield* openAudioGate(format16k)
      const outcomes = [gate.audio(markedFrame(1)), gate.audio(markedFrame(2))]
      const fiber = yield* Effect.forkChild(Stream.runDrain(stt().transcribe(audio, format16k)))
      // The fake has the connection and holds its handshake for 200 ms: frames offered now wait in the gate.
      yield* waitFor(() => seen().length === 1)
      outcomes.push(gate.audio(markedFrame(3)), gate.audio(markedFrame(4)))
      assert.strictEqual(seen()[0]!.audioFrames, 0, "the socket was not open yet")
      yield* waitFor(() => seen()[0]!.audioFrames === 4)
      outcomes.push(gate.audio(markedFrame(5)))
      yield* waitFor(() => seen()[0]!.audioFrames === 5)
      assert.deepStrictEqual(seen()[0]!.frameStarts, [1, 2, 3, 4, 5])
      assert.deepStrictEqual(outcomes, [undefined, undefined, undefined, undefined, undefined])
      yield* Fiber.interrupt(fiber)
    })
  )

  it.live("a stalled connection: past the send buffer's bound, frames are dropped with one audio_dropped", () =>
    Effect.gen(function* () {
      fake.script({ stallReading: true })
      const format = pcm16Format(48000)
      const frameBytes = 9600 // 100 ms
      const { gate, buffer, audio } = yield* openAudioGate(format)
      gate.audio(markedFrame(0, frameBytes))
      const fiber = yield* Effect.forkChild(Stream.runDrain(stt().transcribe(audio, format)))
      // Attached once the buffer has been handed over.
      yield* waitFor(() => Queue.sizeUnsafe(buffer) === 0)
      let accepted = 1
      const notices: Array<string> = []
      let refused = 0
      // The kernel's socket buffers fill first (a few MB on loopback), then the socket's own; at most ~40 MB here.
      for (let i = 1; i < 4000 && refused < 50; i++) {
        const outcome = gate.audio(markedFrame(i, frameBytes))
        if (outcome !== undefined)
          notices.push(outcome._tag === "Reject" || outcome.event.type !== "error" ? outcome._tag : outcome.event.code)
        if (notices.length > 0) refused++
        else accepted++
      }
      assert.deepStrictEqual(notices, ["audio_dropped"], "one notice for the episode")
      assert.strictEqual(refused, 50, "every frame after the first refusal was refused too")
      assert.isAtLeast(accepted * frameBytes, maxBufferedAudioBytes(format), "the bound's worth was sent first")
      assert.strictEqual(Queue.sizeUnsafe(buffer), 0, "dropped, not buffered")
      yield* Fiber.interrupt(fiber)
    })
  )

  it("the send buffer's bound is the STT input's capacity in 20 ms frames", () => {
    assert.strictEqual(maxBufferedAudioBytes(pcm16Format(16000)), SttInputCapacity * 640)
    assert.strictEqual(maxBufferedAudioBytes(pcm16Format(48000)), SttInputCapacity * 1920)
  })
})

describe("Deepgram STT: message handling (pure)", () => {
  const results = (fields: {
    text: string
    start: number
    duration: number
    isFinal?: boolean
    speechFinal?: boolean
    fromFinalize?: boolean
  }) =>
    ({
      type: "Results",
      start: fields.start,
      duration: fields.duration,
      is_final: fields.isFinal ?? false,
      speech_final: fields.speechFinal ?? false,
      from_finalize: fields.fromFinalize ?? false,
      channel: { alternatives: [{ transcript: fields.text }] }
    }) as const

  it("Partials are the finals so far plus the interim; the Final joins the finals; audioMs spans the words", () => {
    const u = new Utterances()
    const out = [
      ...u.onMessage({ type: "SpeechStarted" }),
      ...u.onMessage({ type: "SpeechStarted" }),
      ...u.onMessage(results({ text: "", start: 0, duration: 1, isFinal: true })),
      ...u.onMessage(results({ text: "how is", start: 1, duration: 0.5 })),
      ...u.onMessage(results({ text: "how is bitcoin", start: 1, duration: 1, isFinal: true })),
      ...u.onMessage(results({ text: "doing", start: 2, duration: 0.25 })),
      ...u.onMessage(results({ text: "doing today", start: 2, duration: 0.75, isFinal: true, speechFinal: true }))
    ]
    assert.deepStrictEqual(out, [
      { _tag: "SpeechStarted" },
      { _tag: "Partial", text: "how is" },
      { _tag: "Partial", text: "how is bitcoin" },
      { _tag: "Partial", text: "how is bitcoin doing" },
      { _tag: "SpeechEnded" },
      { _tag: "Final", text: "how is bitcoin doing today", audioMs: 1750 }
    ])
  })

  it("a speech_final without any words, and unknown message types, end nothing", () => {
    const u = new Utterances()
    assert.deepStrictEqual(
      u.onMessage(results({ text: "", start: 0, duration: 1, isFinal: true, speechFinal: true })),
      []
    )
    assert.deepStrictEqual(u.onMessage({ type: "Other" }), [])
    assert.deepStrictEqual(u.onMessage({ type: "UtteranceEnd" }), [])
  })

  it("after a commit, the Finalize answer ends the utterance even when empty; its timeout ends it too", () => {
    const u = new Utterances()
    assert.isTrue(u.onCommit())
    assert.deepStrictEqual(
      u.onMessage(results({ text: "", start: 0, duration: 0.4, isFinal: true, fromFinalize: true })),
      [{ _tag: "SpeechEnded" }, { _tag: "Final", text: "", audioMs: 400 }]
    )
    assert.isFalse(u.onCommit(), "a second commit with nothing heard since adds nothing")
    u.onMessage(results({ text: "maybe", start: 1, duration: 0.2 }))
    assert.isTrue(u.onCommit())
    assert.deepStrictEqual(u.onFinalizeTimeout(), [
      { _tag: "SpeechEnded" },
      { _tag: "Final", text: "maybe", audioMs: 200 }
    ])
  })
})

describe("Deepgram errors (pure)", () => {
  it("socket errors: handshake statuses, the SDK's TIMEOUT, anything else unreachable", () => {
    assert.deepInclude(classifySocketError("speech recognition", "Unexpected server response: 401"), {
      reason: "unauthorized",
      retryable: false
    })
    assert.deepInclude(classifySocketError("speech recognition", "Unexpected server response: 503"), {
      reason: "unavailable",
      retryable: true
    })
    assert.deepInclude(classifySocketError("speech recognition", "TIMEOUT"), { reason: "timeout", retryable: true })
    assert.deepInclude(classifySocketError("speech recognition", "connect ECONNREFUSED 127.0.0.1:9"), {
      reason: "unavailable",
      retryable: true
    })
  })

  it("REST errors: a status with retry-after, a plain 'timeout' DeepgramError, DeepgramTimeoutError", () => {
    const rateLimited = new DeepgramError({
      statusCode: 429,
      body: { err_msg: "slow down" },
      rawResponse: {
        headers: new Headers({ "retry-after": "3" }),
        redirected: false,
        status: 429,
        statusText: "Too Many Requests",
        type: "basic",
        url: ""
      }
    })
    assert.deepStrictEqual(classifyRestError("speech synthesis", rateLimited, 0), {
      reason: "rate_limited",
      retryable: true,
      message: "Deepgram speech synthesis answered HTTP 429",
      retryAfterMs: 3000
    })
    assert.deepInclude(classifyRestError("speech synthesis", new DeepgramError({ message: '"timeout"' }), 0), {
      reason: "timeout",
      retryable: true
    })
    assert.deepInclude(classifyRestError("speech synthesis", new DeepgramTimeoutError("Timeout exceeded"), 0), {
      reason: "timeout",
      retryable: true
    })
    assert.deepInclude(classifyRestError("speech synthesis", new DeepgramError({ message: "fetch failed" }), 0), {
      reason: "unavailable",
      retryable: true
    })
  })
})

describe("Deepgram TTS: conformance", () => {
  ttsConformance(() => Layer.succeed(Tts, tts()), [24000, 16000, 22050])
})

/** Runs one synthesize to its end: its chunks, or its error. */
const synthesize = (text: string, rate: AudioFormat["sampleRate"], timeoutMs?: number, apiKey?: string) =>
  Stream.runCollect(tts(timeoutMs, apiKey).synthesize(text, pcm16Format(rate))).pipe(
    Effect.map((chunks) => Array.from(chunks)),
    Effect.result,
    Effect.timeout("10 seconds")
  )

const expectTtsError = (result: Result.Result<Array<Uint8Array>, TtsError>): TtsError => {
  if (Result.isSuccess(result)) return assert.fail("expected a TtsError")
  return result.failure
}

const concat = (chunks: ReadonlyArray<Uint8Array>) => {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0))
  let offset = 0
  for (const c of chunks) {
    out.set(c, offset)
    offset += c.byteLength
  }
  return out
}

describe("Deepgram TTS", () => {
  it.live("the request: Token auth, model, linear16 at the requested rate, no container, the text in the body", () =>
    Effect.gen(function* () {
      const before = fake.requests.length
      yield* synthesize("Bitcoin is up today.", 16000)
      const request = fake.requests[before]!
      assert.strictEqual(request.headers.authorization, `Token ${fake.apiKey}`)
      assert.deepInclude(request.query, {
        model: "aura-2-thalia-en",
        encoding: "linear16",
        sample_rate: "16000",
        container: "none"
      })
      assert.strictEqual(request.text, "Bitcoin is up today.")
      assert.strictEqual(fake.requests.length, before + 1)
    })
  )

  it.live("odd-sized network chunks come out as whole samples, every byte in order", () =>
    Effect.gen(function* () {
      fake.script({ chunkBytes: 4801, chunkDelayMs: 3 })
      const before = fake.requests.length
      const chunks = (yield* synthesize("Bitcoin is up today.", 24000)).pipe(Result.getOrThrow)
      assert.isAbove(chunks.length, 1)
      assert.isTrue(chunks.every((c) => c.byteLength > 0 && c.byteLength % 2 === 0))
      const request = fake.requests[before]!
      const total = concat(chunks)
      assert.strictEqual(total.byteLength, request.audioBytes)
      const samples = Math.round((20 * 40 * 24000) / 1000)
      assert.strictEqual(total.byteLength, samples * 2, "the fake's 40 ms per char")
      const sent = tone({ sampleRate: 24000, frequencyHz: 440, amplitude: 6000, startSample: 0, samples })
      assert.isTrue(Buffer.from(total).equals(Buffer.from(sent)), "byte for byte the fake's tone")
    })
  )

  it.live("rates Deepgram does not offer (22050, 44100) are requested one step up and resampled", () =>
    Effect.gen(function* () {
      for (const [rate, requested] of [
        [22050, 24000],
        [44100, 48000]
      ] as const) {
        assert.strictEqual(speakRate(rate), requested)
        const before = fake.requests.length
        const chunks = (yield* synthesize("Hello there.", rate)).pipe(Result.getOrThrow)
        const request = fake.requests[before]!
        assert.strictEqual(request.query.sample_rate, String(requested))
        const samples = concat(chunks).byteLength / 2
        assert.approximately(samples, (request.audioBytes / 2) * (rate / requested), 2)
      }
      assert.strictEqual(speakRate(8000), 8000)
      assert.strictEqual(speakRate(48000), 48000)
    })
  )

  for (const [status, reason, retryable] of [
    [500, "unavailable", true],
    [503, "unavailable", true],
    [429, "rate_limited", true],
    [400, "bad_request", false]
  ] as const) {
    it.live(`HTTP ${status} is ${reason}, retryable ${retryable}, not retried by the SDK`, () =>
      Effect.gen(function* () {
        fake.script({ speakStatus: status, retryAfter: "2" })
        const before = fake.requests.length
        const error = expectTtsError(yield* synthesize("Hello.", 24000))
        assert.deepInclude(error, { reason, retryable })
        if (retryable) assert.strictEqual(error.retryAfterMs, 2000)
        assert.notInclude(error.message, "Hello")
        assert.strictEqual(fake.requests.length, before + 1)
      })
    )
  }

  it.live("a wrong key is unauthorized, not retryable", () =>
    Effect.gen(function* () {
      const error = expectTtsError(yield* synthesize("Hello.", 24000, 2000, "wrong-key"))
      assert.deepInclude(error, { reason: "unauthorized", retryable: false })
      assert.notInclude(error.message, "wrong-key")
    })
  )

  it.live("no answer within timeoutMs is a timeout, retryable", () =>
    Effect.gen(function* () {
      fake.script({ speakHang: true })
      const start = performance.now()
      const error = expectTtsError(yield* synthesize("Hello.", 24000, 300))
      assert.deepInclude(error, { reason: "timeout", retryable: true })
      assert.isBelow(performance.now() - start, 2000)
    })
  )

  it.live("a connection dropped mid-audio fails the stream, retryable, after the audio that arrived", () =>
    Effect.gen(function* () {
      fake.script({ dropAfterBytes: 20_000, chunkBytes: 4000, chunkDelayMs: 5 })
      const error = expectTtsError(yield* synthesize("A sentence long enough to be cut in the middle.", 24000))
      assert.deepInclude(error, { reason: "unavailable", retryable: true })
    })
  )

  it.live("interrupting the stream aborts the request", () =>
    Effect.gen(function* () {
      fake.script({ chunkBytes: 960, chunkDelayMs: 20 })
      const before = fake.requests.length
      const first = yield* Stream.runHead(tts().synthesize("A long sentence that keeps streaming.", pcm16Format(24000)))
      assert.isTrue(Option.isSome(first))
      yield* waitFor(() => fake.requests[before]?.aborted === true)
    })
  )
})

// ---- live: only with DEEPGRAM_API_KEY; this machine cannot reach Deepgram, so they are skipped here ----

const liveKey = process.env.DEEPGRAM_API_KEY?.trim() || undefined
const liveSettings = (): DeepgramSettings => ({
  apiKey: Option.some(Redacted.make(liveKey ?? "")),
  baseUrl: Option.none(),
  sttModel: process.env.DEEPGRAM_STT_MODEL ?? "nova-3",
  ttsModel: process.env.DEEPGRAM_TTS_MODEL ?? "aura-2-thalia-en"
})
const liveReason = liveKey === undefined ? " (skipped: DEEPGRAM_API_KEY is not set)" : ""

describe("Deepgram live", () => {
  it.live.skipIf(liveKey === undefined)(`TTS: a sentence becomes 24 kHz PCM16 audio${liveReason}`, () =>
    Effect.gen(function* () {
      const chunks = yield* Stream.runCollect(
        makeDeepgramTts(liveSettings(), { timeoutMs: 10_000 }).synthesize("Hello there.", pcm16Format(24000))
      )
      const bytes = concat(Array.from(chunks)).byteLength
      assert.isAbove(bytes, 24000)
      assert.strictEqual(bytes % 2, 0)
    })
  )

  it.live.skipIf(liveKey === undefined)(`STT: Deepgram's own speech, committed, is transcribed${liveReason}`, () =>
    Effect.gen(function* () {
      const settingsLive = liveSettings()
      const speech = concat(
        Array.from(
          yield* Stream.runCollect(
            makeDeepgramTts(settingsLive, { timeoutMs: 10_000 }).synthesize("Hello world.", pcm16Format(16000))
          )
        )
      )
      const frames: Array<SttInput> = []
      for (let offset = 0; offset < speech.byteLength; offset += 640) {
        frames.push({ _tag: "Audio", pcm: speech.subarray(offset, offset + 640) })
      }
      const events = yield* Stream.runCollect(
        makeDeepgramStt(settingsLive, { connectTimeoutMs: 10_000 }).transcribe(
          sttAudioFromIterable([...frames, ...speechFrames(format16k, 0, 500), commit]),
          format16k
        )
      )
      const texts = finals(Array.from(events)).map((f) => f.text.toLowerCase())
      assert.isTrue(
        texts.some((t) => t.includes("hello")),
        JSON.stringify(texts)
      )
    })
  )
})

// The OpenAI adapters (LLM, TTS, STT) with the real openai SDK against the local OpenAI fake: the port conformance
// suites, what the fake received, the fault cases (429/500/401, drops, malformed streams, hangs under guardStream),
// that interruption aborts the HTTP request, the streaming resampler, and a live check when OPENAI_API_KEY is set.
import { afterAll, assert, beforeAll, beforeEach, describe, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Layer, Option, Redacted, Schedule, Semaphore, Stream } from "effect"
import * as OpenAiErrors from "openai"
import { resample } from "../../src/audio/Pcm.ts"
import { Resampler } from "../../src/audio/Resampler.ts"
import type { PortPolicy } from "../../src/config/PortPolicy.ts"
import type { OpenAiSettings } from "../../src/config/ProviderSettings.ts"
import { type AudioFormat, pcm16Format } from "../../src/domain/Audio.ts"
import type { EnrichmentContext } from "../../src/domain/Enrichment.ts"
import { Llm, type LlmChunk, LlmError, type LlmRequest } from "../../src/pipeline/Llm.ts"
import { renderSystemPrompt } from "../../src/pipeline/Prompt.ts"
import { guardStream } from "../../src/pipeline/Resilience.ts"
import { Stt, type SttEvent, type SttInput } from "../../src/pipeline/Stt.ts"
import { Tts, TtsError } from "../../src/pipeline/Tts.ts"
import { classifyOpenAiError } from "../../src/providers/openai/errors.ts"
import { makeOpenAiLlm } from "../../src/providers/openai/OpenAiLlm.ts"
import { makeOpenAiStt } from "../../src/providers/openai/OpenAiStt.ts"
import { makeOpenAiTts } from "../../src/providers/openai/OpenAiTts.ts"
import { DefaultReply, DefaultTranscript, type OpenAiFake, speechTone, startOpenAiFake } from "../fakes/OpenAiFake.ts"
import type { RecordedRequest } from "../fakes/sse.ts"
import { sttAudioFromIterable, sttAudioFromStream } from "../support/SttAudioStream.ts"
import { llmConformance, speechFrames, sttConformance, ttsConformance } from "./conformance.ts"

const Key = "test-key"

const settingsFor = (url: string, overrides: Partial<OpenAiSettings> = {}): OpenAiSettings => ({
  apiKey: Option.some(Redacted.make(Key)),
  baseUrl: Option.some(url),
  model: "gpt-4o-mini",
  ttsModel: "gpt-4o-mini-tts",
  ttsVoice: "alloy",
  sttModel: "gpt-4o-transcribe",
  ...overrides
})

const sttOptions = { timeoutMs: 5000, speechThreshold: 500, endSilenceMs: 300 }

const context: EnrichmentContext = {
  prices: [
    {
      asset: "Bitcoin",
      symbol: "BTC",
      price: 97250.12,
      fiat: "usd",
      change24hPct: 2.31,
      source: "coingecko",
      asOf: "2026-11-26T00:00:00.000Z"
    }
  ],
  headlines: [],
  missing: ["news"]
}

const request: LlmRequest = {
  system: "You are a terse market assistant.",
  messages: [
    { role: "user", content: "hello" },
    { role: "assistant", content: "hi" },
    { role: "user", content: "how is bitcoin?" }
  ],
  context
}

/** Runs a stream to its end, keeping what it emitted and the error it ended with, if any. */
const collect = <A, E>(stream: Stream.Stream<A, E>) =>
  Effect.gen(function* () {
    const items: Array<A> = []
    const exit = yield* Effect.exit(Stream.runForEach(stream, (a) => Effect.sync(() => items.push(a))))
    const error = Exit.isFailure(exit) ? Option.getOrUndefined(Exit.findErrorOption(exit)) : undefined
    return { items, error, exit }
  })

const textOf = (chunks: ReadonlyArray<LlmChunk>) => chunks.flatMap((c) => (c._tag === "Delta" ? [c.text] : [])).join("")

/** Waits (real time) for the connection of a recorded request to close. */
const closed = (recorded: RecordedRequest | undefined) =>
  Effect.promise(() => recorded?.closed ?? Promise.resolve()).pipe(
    Effect.timeoutOrElse({ duration: Duration.seconds(3), orElse: () => Effect.die("connection still open") })
  )

/** Polls (real time) until the fake has received `n` requests. */
const requestsReached = (fake: OpenAiFake, n: number) =>
  Effect.suspend(() => (fake.requests.length >= n ? Effect.void : Effect.fail("not yet"))).pipe(
    Effect.retry({ times: 300, schedule: Schedule.spaced(Duration.millis(10)) }),
    Effect.orDie
  )

const shortPolicy: PortPolicy = {
  firstChunkTimeoutMs: 300,
  idleTimeoutMs: 300,
  retries: 0,
  retryBaseDelayMs: 10,
  retryMaxDelayMs: 10,
  concurrency: 4
}

let fake: OpenAiFake
beforeAll(async () => {
  fake = await startOpenAiFake({ apiKey: Key })
})
afterAll(() => fake.close())
beforeEach(() => fake.reset())

describe("OpenAI adapters: conformance over the fake", () => {
  llmConformance(() => Layer.succeed(Llm, makeOpenAiLlm(settingsFor(fake.url), { timeoutMs: 5000 })))
  ttsConformance(() => Layer.succeed(Tts, makeOpenAiTts(settingsFor(fake.url), { timeoutMs: 5000 })))
  describe("STT with a streaming model (gpt-4o-transcribe)", () => {
    sttConformance(() => Layer.succeed(Stt, makeOpenAiStt(settingsFor(fake.url), sttOptions)), {
      expectedText: DefaultTranscript
    })
  })
  describe("STT with whisper-1 (plain JSON)", () => {
    sttConformance(
      () => Layer.succeed(Stt, makeOpenAiStt(settingsFor(fake.url, { sttModel: "whisper-1" }), sttOptions)),
      { expectedText: DefaultTranscript, format: pcm16Format(8000) }
    )
  })
})

describe("OpenAiLlm", () => {
  const llm = () => makeOpenAiLlm(settingsFor(fake.url), { timeoutMs: 2000 })

  it.live("streams the reply as deltas and one usage, from a request the fake recognises", () =>
    Effect.gen(function* () {
      const { items, error } = yield* collect(llm().stream(request))
      assert.isUndefined(error)
      assert.strictEqual(textOf(items), DefaultReply)
      const usage = items.filter((c) => c._tag === "Usage")
      assert.strictEqual(usage.length, 1)
      assert.strictEqual(items[items.length - 1]!._tag, "Usage", "usage comes after the last delta")
      assert.isAbove(usage[0]!._tag === "Usage" ? usage[0]!.inputTokens : 0, 0)
      assert.strictEqual(usage[0]!._tag === "Usage" ? usage[0]!.outputTokens : 0, DefaultReply.split(" ").length)

      const sent = fake.requests[0]!
      assert.strictEqual(sent.method, "POST")
      assert.strictEqual(sent.path, "/v1/chat/completions")
      assert.strictEqual(sent.headers.authorization, `Bearer ${Key}`)
      const body = sent.json as {
        model: string
        stream: boolean
        stream_options: unknown
        messages: Array<{ role: string; content: string }>
      }
      assert.strictEqual(body.model, "gpt-4o-mini")
      assert.strictEqual(body.stream, true)
      assert.deepStrictEqual(body.stream_options, { include_usage: true })
      assert.deepStrictEqual(body.messages, [
        { role: "system", content: renderSystemPrompt(request) },
        ...request.messages.map((m) => ({ role: m.role, content: m.content }))
      ])
      const system = body.messages[0]!.content
      assert.include(system, request.system)
      assert.include(system, "source coingecko, as of 2026-11-26T00:00:00.000Z")
      assert.include(system, "Not available now: news.")
    })
  )

  it.live("an OpenAI-compatible server without a usage chunk: deltas only, no error", () =>
    Effect.gen(function* () {
      const plain = yield* Effect.acquireRelease(
        Effect.promise(() => startOpenAiFake({ replyText: "Local model says hi.", usage: false })),
        (f) => Effect.promise(() => f.close())
      )
      const { items, error } = yield* collect(
        makeOpenAiLlm(settingsFor(plain.url), { timeoutMs: 2000 }).stream(request)
      )
      assert.isUndefined(error)
      assert.strictEqual(textOf(items), "Local model says hi.")
      assert.isTrue(items.every((c) => c._tag === "Delta"))
    }).pipe(Effect.scoped)
  )

  it.live("429 with retry-after → rate_limited, retryable, with retryAfterMs", () =>
    Effect.gen(function* () {
      fake.script("chat", { kind: "status", status: 429, headers: { "retry-after": "2" } })
      const { items, error } = yield* collect(llm().stream(request))
      assert.deepStrictEqual(items, [])
      assert.instanceOf(error, LlmError)
      assert.strictEqual(error?.reason, "rate_limited")
      assert.strictEqual(error?.retryable, true)
      assert.strictEqual(error?.retryAfterMs, 2000)
      assert.strictEqual(fake.requests.length, 1, "the SDK did not retry by itself")
    })
  )

  it.live("429 with retry-after-ms → that many milliseconds", () =>
    Effect.gen(function* () {
      fake.script("chat", { kind: "status", status: 429, headers: { "retry-after-ms": "1500", "retry-after": "9" } })
      const { error } = yield* collect(llm().stream(request))
      assert.strictEqual(error?.retryAfterMs, 1500)
    })
  )

  it.live("500 → unavailable, retryable, not retried by the SDK", () =>
    Effect.gen(function* () {
      fake.script("chat", { kind: "status", status: 500 })
      const { error } = yield* collect(llm().stream(request))
      assert.strictEqual(error?.reason, "unavailable")
      assert.strictEqual(error?.retryable, true)
      assert.strictEqual(fake.requests.length, 1)
    })
  )

  it.live("a wrong key → 401 unauthorized, not retryable; the message carries no key", () =>
    Effect.gen(function* () {
      const wrong = makeOpenAiLlm(
        { ...settingsFor(fake.url), apiKey: Option.some(Redacted.make("sk-wrong-secret")) },
        { timeoutMs: 2000 }
      )
      const { error } = yield* collect(wrong.stream(request))
      assert.strictEqual(error?.reason, "unauthorized")
      assert.strictEqual(error?.retryable, false)
      assert.notInclude(error?.message ?? "", "sk-wrong-secret")
      assert.strictEqual(fake.requests[0]!.headers.authorization, "Bearer sk-wrong-secret")
    })
  )

  it.live("400 → bad_request, not retryable", () =>
    Effect.gen(function* () {
      fake.script("chat", { kind: "status", status: 400 })
      const { error } = yield* collect(llm().stream(request))
      assert.strictEqual(error?.reason, "bad_request")
      assert.strictEqual(error?.retryable, false)
    })
  )

  it.live("a connection dropped mid-stream fails after the deltas already emitted (unavailable, retryable)", () =>
    Effect.gen(function* () {
      fake.script("chat", { kind: "drop", afterChunks: 3 })
      const { items, error } = yield* collect(llm().stream(request))
      assert.strictEqual(textOf(items), DefaultReply.split(" ").slice(0, 3).join(" ") + " ")
      assert.strictEqual(error?.reason, "unavailable")
      assert.strictEqual(error?.retryable, true)
    })
  )

  it.live("a malformed stream → protocol error after the good deltas", () =>
    Effect.gen(function* () {
      fake.script("chat", { kind: "malformed", afterChunks: 2 })
      const { items, error } = yield* collect(llm().stream(request))
      assert.strictEqual(items.length, 2)
      assert.strictEqual(error?.reason, "protocol")
      assert.strictEqual(error?.retryable, false)
    })
  )

  it.live("a stream that ends without finish_reason → protocol error", () =>
    Effect.gen(function* () {
      fake.script("chat", { kind: "end-early", afterChunks: 2 })
      const { items, error } = yield* collect(llm().stream(request))
      assert.strictEqual(items.length, 2)
      assert.strictEqual(error?.reason, "protocol")
    })
  )

  it.live("an error event mid-stream → LlmError after the deltas, retryable", () =>
    Effect.gen(function* () {
      fake.script("chat", { kind: "error-event", afterChunks: 1, errorType: "server_error" })
      const { items, error } = yield* collect(llm().stream(request))
      assert.strictEqual(items.length, 1)
      assert.instanceOf(error, LlmError)
      assert.strictEqual(error?.reason, "unavailable")
      assert.strictEqual(error?.retryable, true)
    })
  )

  it.live(
    "a hang before the first chunk yields nothing; guardStream turns it into a timeout and aborts the request",
    () =>
      Effect.gen(function* () {
        fake.script("chat", { kind: "hang", when: "before-first-chunk" })
        const permits = yield* Semaphore.make(1)
        const guarded = guardStream(shortPolicy, permits, (fields) => new LlmError(fields))(() => llm().stream(request))
        const { items, error } = yield* collect(guarded)
        assert.deepStrictEqual(items, [])
        assert.strictEqual(error?.reason, "timeout")
        assert.strictEqual(error?.retryable, true)
        yield* closed(fake.requests[0])
        assert.isTrue(fake.requests[0]!.clientClosed, "the fake saw the connection closed by the client")
      })
  )

  it.live("a hang before any response headers → the SDK timeout gives a retryable timeout", () =>
    Effect.gen(function* () {
      fake.script("chat", { kind: "hang", when: "before-headers" })
      const { error } = yield* collect(makeOpenAiLlm(settingsFor(fake.url), { timeoutMs: 300 }).stream(request))
      assert.strictEqual(error?.reason, "timeout")
      assert.strictEqual(error?.retryable, true)
      assert.strictEqual(fake.requests.length, 1)
    })
  )

  it.live("interrupting the stream aborts the HTTP request", () =>
    Effect.gen(function* () {
      fake.script("chat", { kind: "reply", delayMs: 100 })
      const fiber = yield* Effect.forkChild(Stream.runCollect(llm().stream(request)))
      yield* requestsReached(fake, 1)
      yield* Effect.sleep(Duration.millis(250))
      yield* Fiber.interrupt(fiber)
      yield* closed(fake.requests[0])
      assert.isTrue(fake.requests[0]!.clientClosed)
    })
  )

  it.live("taking only the first deltas ends the stream early and aborts the request", () =>
    Effect.gen(function* () {
      fake.script("chat", { kind: "reply", delayMs: 50 })
      const first = yield* Stream.runCollect(Stream.take(llm().stream(request), 2))
      assert.strictEqual(first.length, 2)
      yield* closed(fake.requests[0])
      assert.isTrue(fake.requests[0]!.clientClosed)
    })
  )
})

describe("classifyOpenAiError", () => {
  it("retry-after as an HTTP date is measured against the given clock time", () => {
    const now = Date.parse("2026-11-26T10:00:00Z")
    const { APIError } = OpenAiErrors
    const error = APIError.generate(
      503,
      { error: { message: "busy", type: "server_error" } },
      undefined,
      new Headers({ "retry-after": "Thu, 26 Nov 2026 10:00:07 GMT" })
    )
    const failure = classifyOpenAiError(error, now)
    assert.strictEqual(failure.reason, "unavailable")
    assert.strictEqual(failure.retryable, true)
    assert.strictEqual(failure.retryAfterMs, 7000)
  })

  it("status classes: 408/409/429/5xx retryable, 401/403 unauthorized, 404/422 bad_request", () => {
    const { APIError } = OpenAiErrors
    const of = (status: number) => classifyOpenAiError(APIError.generate(status, {}, undefined, new Headers()), 0)
    for (const status of [408, 409, 429, 500, 502, 503]) assert.isTrue(of(status).retryable, `${status}`)
    assert.deepInclude(of(401), { reason: "unauthorized", retryable: false })
    assert.deepInclude(of(403), { reason: "unauthorized", retryable: false })
    assert.deepInclude(of(404), { reason: "bad_request", retryable: false })
    assert.deepInclude(of(422), { reason: "bad_request", retryable: false })
    assert.deepInclude(of(408), { reason: "timeout" })
    assert.deepInclude(of(429), { reason: "rate_limited" })
  })

  it("connection errors and timeouts are retryable", () => {
    assert.deepInclude(classifyOpenAiError(new OpenAiErrors.APIConnectionError({}), 0), {
      reason: "unavailable",
      retryable: true
    })
    assert.deepInclude(classifyOpenAiError(new OpenAiErrors.APIConnectionTimeoutError(), 0), {
      reason: "timeout",
      retryable: true
    })
  })
})

/** Concatenates byte chunks. */
const joinBytes = (chunks: ReadonlyArray<Uint8Array>) => {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0))
  let offset = 0
  for (const c of chunks) {
    out.set(c, offset)
    offset += c.byteLength
  }
  return out
}

describe("Resampler", () => {
  const ramp = (samples: number) => {
    const out = new Uint8Array(samples * 2)
    const view = new DataView(out.buffer)
    for (let i = 0; i < samples; i++) view.setInt16(i * 2, Math.round(10000 * Math.sin(i / 7)), true)
    return out
  }
  /** Pushes `bytes` in pieces of the given (odd and even) sizes, then flushes. */
  const streamed = (resampler: Resampler, bytes: Uint8Array, sizes: ReadonlyArray<number>) => {
    const out: Array<Uint8Array> = []
    let offset = 0
    for (let i = 0; offset < bytes.byteLength; i++) {
      const size = sizes[i % sizes.length]!
      const piece = resampler.push(bytes.subarray(offset, offset + size))
      assert.strictEqual(piece.byteLength % 2, 0, "every output chunk holds whole samples")
      out.push(piece)
      offset += size
    }
    out.push(resampler.flush())
    return joinBytes(out)
  }

  it("at equal rates passes the bytes through, re-joining samples split across chunks", () => {
    const input = ramp(1000)
    assert.deepStrictEqual(streamed(new Resampler(24000, 24000), input, [1, 3, 7, 1000, 5]), input)
  })

  it("24 kHz → 16 kHz in odd-sized chunks equals resampling the whole buffer at once", () => {
    const input = ramp(2400)
    const whole = new Resampler(24000, 16000)
    const oneShot = joinBytes([whole.push(input), whole.flush()])
    assert.deepStrictEqual(streamed(new Resampler(24000, 16000), input, [4801, 3, 999, 1]), oneShot)
    assert.strictEqual(oneShot.byteLength / 2, 1600)
    // Same interpolation as the one-shot helper in Pcm.ts.
    assert.deepStrictEqual(oneShot.subarray(0, 3000), resample(input, 24000, 16000).subarray(0, 3000))
  })

  it("24 kHz → 48 kHz and → 8 kHz give the expected lengths", () => {
    const input = ramp(2400)
    assert.strictEqual(streamed(new Resampler(24000, 48000), input, [333, 17]).byteLength / 2, 4800)
    assert.strictEqual(streamed(new Resampler(24000, 8000), input, [101]).byteLength / 2, 800)
  })
})

describe("OpenAiTts", () => {
  const tts = (timeoutMs = 2000) => makeOpenAiTts(settingsFor(fake.url), { timeoutMs })
  const sentence = "Bitcoin is up today."

  it.live("posts model, voice, input and response_format pcm with the key", () =>
    Effect.gen(function* () {
      yield* Stream.runDrain(tts().synthesize(sentence, pcm16Format(24000)))
      const sent = fake.requests[0]!
      assert.strictEqual(sent.path, "/v1/audio/speech")
      assert.strictEqual(sent.headers.authorization, `Bearer ${Key}`)
      assert.deepStrictEqual(sent.json, {
        model: "gpt-4o-mini-tts",
        voice: "alloy",
        input: sentence,
        response_format: "pcm"
      })
    })
  )

  it.live("at 24 kHz the provider's PCM comes through unchanged, in chunks of whole samples", () =>
    Effect.gen(function* () {
      const chunks = Array.from(yield* Stream.runCollect(tts().synthesize(sentence, pcm16Format(24000))))
      const bytes = joinBytes(chunks)
      assert.strictEqual(bytes.byteLength, sentence.length * 20 * 24 * 2, "20 ms per character at 24 kHz")
      assert.deepStrictEqual(bytes.subarray(0, 9600), speechTone(sentence.length * 20).subarray(0, 9600))
      assert.isTrue(chunks.every((c) => c.byteLength % 2 === 0))
    })
  )

  it.live("at 16 kHz the audio is resampled (2/3 of the samples)", () =>
    Effect.gen(function* () {
      const bytes = joinBytes(Array.from(yield* Stream.runCollect(tts().synthesize(sentence, pcm16Format(16000)))))
      assert.strictEqual(bytes.byteLength / 2, (sentence.length * 20 * 24 * 2) / 3)
    })
  )

  it.live("audio is emitted as it arrives, before the provider has finished", () =>
    Effect.gen(function* () {
      fake.script("speech", { kind: "reply", delayMs: 150 })
      const arrivals: Array<number> = []
      const started = performance.now()
      yield* Stream.runForEach(tts().synthesize(sentence, pcm16Format(16000)), () =>
        Effect.sync(() => arrivals.push(performance.now() - started))
      )
      assert.isAbove(arrivals.length, 2)
      assert.isBelow(arrivals[0]!, arrivals[arrivals.length - 1]! - 200, "the first chunk came well before the last")
    })
  )

  it.live("500 → unavailable retryable; 401 → unauthorized", () =>
    Effect.gen(function* () {
      fake.script("speech", { kind: "status", status: 500 })
      const failed = yield* collect(tts().synthesize(sentence, pcm16Format(24000)))
      assert.strictEqual(failed.error?.reason, "unavailable")
      assert.strictEqual(failed.error?.retryable, true)
      fake.script("speech", { kind: "status", status: 401 })
      const refused = yield* collect(tts().synthesize(sentence, pcm16Format(24000)))
      assert.strictEqual(refused.error?.reason, "unauthorized")
      assert.strictEqual(refused.error?.retryable, false)
    })
  )

  it.live("a drop mid-stream fails after the audio already emitted", () =>
    Effect.gen(function* () {
      fake.script("speech", { kind: "drop", afterChunks: 2 })
      const { items, error } = yield* collect(tts().synthesize(sentence, pcm16Format(24000)))
      assert.strictEqual(joinBytes(items).byteLength, 2 * 4801, "the two chunks sent, in whole samples")
      assert.strictEqual(error?.reason, "unavailable")
      assert.strictEqual(error?.retryable, true)
    })
  )

  it.live("a hang after the headers yields no audio; guardStream turns it into a timeout and aborts the request", () =>
    Effect.gen(function* () {
      fake.script("speech", { kind: "hang", when: "before-first-chunk" })
      const permits = yield* Semaphore.make(1)
      const guarded = guardStream(
        shortPolicy,
        permits,
        (fields) => new TtsError(fields)
      )(() => tts().synthesize(sentence, pcm16Format(16000)))
      const { items, error } = yield* collect(guarded)
      assert.deepStrictEqual(items, [])
      assert.strictEqual(error?.reason, "timeout")
      yield* closed(fake.requests[0])
      assert.isTrue(fake.requests[0]!.clientClosed)
    })
  )

  it.live("interrupting synthesis aborts the HTTP request", () =>
    Effect.gen(function* () {
      fake.script("speech", { kind: "reply", delayMs: 100 })
      const fiber = yield* Effect.forkChild(Stream.runDrain(tts().synthesize(sentence, pcm16Format(24000))))
      yield* requestsReached(fake, 1)
      yield* Effect.sleep(Duration.millis(150))
      yield* Fiber.interrupt(fiber)
      yield* closed(fake.requests[0])
      assert.isTrue(fake.requests[0]!.clientClosed)
    })
  )
})

/** The fields of a canonical 44-byte WAV header. */
const wavHeader = (bytes: Uint8Array) => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const ascii = (offset: number) => String.fromCharCode(...bytes.subarray(offset, offset + 4))
  return {
    riff: ascii(0),
    wave: ascii(8),
    format: view.getUint16(20, true),
    channels: view.getUint16(22, true),
    sampleRate: view.getUint32(24, true),
    bitsPerSample: view.getUint16(34, true),
    dataBytes: view.getUint32(40, true),
    totalBytes: bytes.byteLength
  }
}

describe("OpenAiStt", () => {
  const stt = (overrides: Partial<OpenAiSettings> = {}, extra: Partial<Parameters<typeof makeOpenAiStt>[1]> = {}) =>
    makeOpenAiStt(settingsFor(fake.url, overrides), { ...sttOptions, ...extra })
  const commit: SttInput = { _tag: "Commit" }
  const run = (service: Stt["Service"], input: ReadonlyArray<SttInput>, format: AudioFormat) =>
    collect(service.transcribe(sttAudioFromIterable(input), format))
  const tags = (events: ReadonlyArray<SttEvent>) => events.map((e) => e._tag)

  it.live("uploads the utterance as a 16-bit mono WAV at the input rate, with model, json and stream fields", () =>
    Effect.gen(function* () {
      const format = pcm16Format(16000)
      const { items, error } = yield* run(stt(), [...speechFrames(format, 600, 100), commit], format)
      assert.isUndefined(error)
      const sent = fake.requests[0]!
      assert.strictEqual(sent.path, "/v1/audio/transcriptions")
      assert.strictEqual(sent.headers.authorization, `Bearer ${Key}`)
      assert.match(String(sent.headers["content-type"]), /^multipart\/form-data; boundary=/)
      assert.deepInclude(sent.fields, { model: "gpt-4o-transcribe", response_format: "json", stream: "true" })
      const file = sent.files.file!
      assert.match(file.name, /\.wav$/)
      assert.strictEqual(file.type, "audio/wav")
      const header = wavHeader(file.bytes)
      assert.deepInclude(header, {
        riff: "RIFF",
        wave: "WAVE",
        format: 1,
        channels: 1,
        sampleRate: 16000,
        bitsPerSample: 16
      })
      assert.strictEqual(header.dataBytes, header.totalBytes - 44)
      assert.strictEqual(header.dataBytes, 700 * 32, "all 700 ms of the utterance (speech and its silence)")
      const final = items.find((e) => e._tag === "Final")
      assert.deepStrictEqual(final, { _tag: "Final", text: DefaultTranscript, audioMs: 700 })
    })
  )

  it.live("whisper-1 at 8 kHz: no stream field, an 8 kHz WAV, the JSON text as the final", () =>
    Effect.gen(function* () {
      const format = pcm16Format(8000)
      fake.script("transcription", { kind: "reply", text: "Whisper heard this." })
      const { items } = yield* run(stt({ sttModel: "whisper-1" }), [...speechFrames(format, 400, 0), commit], format)
      const sent = fake.requests[0]!
      assert.strictEqual(sent.fields.model, "whisper-1")
      assert.strictEqual(sent.fields.response_format, "json")
      assert.isUndefined(sent.fields.stream)
      assert.strictEqual(wavHeader(sent.files.file!.bytes).sampleRate, 8000)
      assert.deepStrictEqual(tags(items), ["SpeechStarted", "SpeechEnded", "Final"])
      assert.deepStrictEqual(items[2], { _tag: "Final", text: "Whisper heard this.", audioMs: 400 })
    })
  )

  it.live("events: SpeechStarted, SpeechEnded, growing partials from the SSE deltas, then the final", () =>
    Effect.gen(function* () {
      const format = pcm16Format(16000)
      fake.script("transcription", { kind: "reply", text: "price of bitcoin" })
      const { items } = yield* run(stt(), [...speechFrames(format, 400, 0), commit], format)
      assert.deepStrictEqual(items, [
        { _tag: "SpeechStarted" },
        { _tag: "SpeechEnded" },
        { _tag: "Partial", text: "price " },
        { _tag: "Partial", text: "price of " },
        { _tag: "Partial", text: "price of bitcoin" },
        { _tag: "Final", text: "price of bitcoin", audioMs: 400 }
      ])
    })
  )

  it.live("the utterance ends by itself after the configured silence, without a commit", () =>
    Effect.gen(function* () {
      const format = pcm16Format(16000)
      const { items } = yield* run(stt(), speechFrames(format, 400, 400), format)
      assert.deepStrictEqual(
        tags(items).filter((t) => t !== "Partial"),
        ["SpeechStarted", "SpeechEnded", "Final"]
      )
      assert.strictEqual(fake.requests.length, 1)
      // 400 ms of speech and the 300 ms of silence that ended it.
      assert.strictEqual(wavHeader(fake.requests[0]!.files.file!.bytes).dataBytes, 700 * 32)
    })
  )

  it.live("a commit with no speech gives an empty final without calling the API; a second commit adds nothing", () =>
    Effect.gen(function* () {
      const format = pcm16Format(16000)
      const { items, error } = yield* run(stt(), [...speechFrames(format, 0, 200), commit], format)
      assert.isUndefined(error)
      assert.deepStrictEqual(items, [{ _tag: "SpeechEnded" }, { _tag: "Final", text: "", audioMs: 0 }])
      const afterEndpoint = yield* run(stt(), [...speechFrames(format, 400, 400), commit], format)
      assert.strictEqual(afterEndpoint.items.filter((e) => e._tag === "Final").length, 1)
      assert.strictEqual(fake.requests.length, 1, "only the utterance with speech was sent")
    })
  )

  it.live("audio keeps flowing while a transcription is in flight, and finals come out in utterance order", () =>
    Effect.gen(function* () {
      const format = pcm16Format(16000)
      fake.script(
        "transcription",
        { kind: "reply", text: "first one", firstDelayMs: 400 },
        { kind: "reply", text: "second one" }
      )
      const input = [...speechFrames(format, 300, 400), ...speechFrames(format, 300, 400)]
      const { items, error } = yield* run(stt(), input, format)
      assert.isUndefined(error)
      assert.deepStrictEqual(
        items.filter((e) => e._tag !== "Partial"),
        [
          { _tag: "SpeechStarted" },
          { _tag: "SpeechEnded" },
          { _tag: "SpeechStarted" },
          { _tag: "SpeechEnded" },
          { _tag: "Final", text: "first one", audioMs: 600 },
          // The second upload starts with the 100 ms of silence heard just before it (pre-roll).
          { _tag: "Final", text: "second one", audioMs: 700 }
        ]
      )
      const firstFinal = items.findIndex((e) => e._tag === "Final")
      assert.isTrue(
        items.slice(0, firstFinal).every((e) => e._tag !== "Partial" || e.text.startsWith("first")),
        "no partial of the second utterance before the first final"
      )
      const [first, second] = fake.requests
      assert.isBelow(second!.receivedAt, first!.finishedAt!, "the second upload started while the first was pending")
    })
  )

  it.live("an utterance longer than maxUtteranceMs is cut and sent", () =>
    Effect.gen(function* () {
      const format = pcm16Format(16000)
      const { items } = yield* run(stt({}, { maxUtteranceMs: 500 }), [...speechFrames(format, 1200, 0), commit], format)
      assert.strictEqual(items.filter((e) => e._tag === "Final").length, 3)
      assert.strictEqual(fake.requests.length, 3)
    })
  )

  it.live("429 on the upload fails the stream: rate_limited, retryable, with retryAfterMs", () =>
    Effect.gen(function* () {
      const format = pcm16Format(16000)
      fake.script("transcription", { kind: "status", status: 429, headers: { "retry-after": "1" } })
      const { items, error } = yield* run(stt(), [...speechFrames(format, 400, 0), commit], format)
      assert.deepStrictEqual(tags(items), ["SpeechStarted", "SpeechEnded"])
      assert.strictEqual(error?._tag, "SttError")
      assert.strictEqual(error?.reason, "rate_limited")
      assert.strictEqual(error?.retryable, true)
      assert.strictEqual(error?.retryAfterMs, 1000)
    })
  )

  it.live("a transcription stream that stops before transcript.text.done → protocol error", () =>
    Effect.gen(function* () {
      const format = pcm16Format(16000)
      fake.script("transcription", { kind: "end-early", afterChunks: 1 })
      const { error } = yield* run(stt(), [...speechFrames(format, 400, 0), commit], format)
      assert.strictEqual(error?.reason, "protocol")
    })
  )

  it.live("a transcription that stalls after its headers fails the stream with a timeout and is aborted", () =>
    Effect.gen(function* () {
      const format = pcm16Format(16000)
      fake.script("transcription", { kind: "hang", when: "before-first-chunk" })
      const { items, error } = yield* run(
        stt({}, { timeoutMs: 300 }),
        [...speechFrames(format, 400, 0), commit],
        format
      )
      assert.deepStrictEqual(tags(items), ["SpeechStarted", "SpeechEnded"])
      assert.strictEqual(error?.reason, "timeout")
      assert.strictEqual(error?.retryable, true)
      yield* closed(fake.requests[0])
      assert.isTrue(fake.requests[0]!.clientClosed)
    })
  )

  it.live("interrupting the stream aborts an upload in flight", () =>
    Effect.gen(function* () {
      const format = pcm16Format(16000)
      fake.script("transcription", { kind: "hang", when: "before-headers" })
      const input = Stream.concat(Stream.fromIterable([...speechFrames(format, 400, 0), commit]), Stream.never)
      const fiber = yield* Effect.forkChild(Stream.runDrain(stt().transcribe(sttAudioFromStream(input), format)))
      yield* requestsReached(fake, 1)
      yield* Fiber.interrupt(fiber)
      yield* closed(fake.requests[0])
      assert.isTrue(fake.requests[0]!.clientClosed)
    })
  )
})

describe("OpenAI live (real API, only with OPENAI_API_KEY)", () => {
  const key = process.env.OPENAI_API_KEY?.trim()
  const live = (): OpenAiSettings => ({
    apiKey: Option.some(Redacted.make(key ?? "")),
    baseUrl: Option.fromNullishOr(process.env.OPENAI_BASE_URL?.trim() || undefined),
    model: process.env.OPENAI_MODEL ?? "gpt-4o-mini",
    ttsModel: process.env.OPENAI_TTS_MODEL ?? "gpt-4o-mini-tts",
    ttsVoice: process.env.OPENAI_TTS_VOICE ?? "alloy",
    sttModel: process.env.OPENAI_STT_MODEL ?? "gpt-4o-transcribe"
  })
  const skipped = key ? "" : " (skipped: OPENAI_API_KEY is not set)"

  it.live.skipIf(!key)(`live: the LLM streams a reply and reports usage${skipped}`, () =>
    Effect.gen(function* () {
      const llm = makeOpenAiLlm(live(), { timeoutMs: 30_000 })
      const { items, error } = yield* collect(
        llm.stream({ ...request, messages: [{ role: "user", content: "Reply with the single word: ready" }] })
      )
      assert.isUndefined(error)
      assert.isAbove(textOf(items).trim().length, 0)
      assert.isTrue(items.some((c) => c._tag === "Usage"))
    })
  )

  it.live.skipIf(!key)(`live: TTS speech transcribed back by STT${skipped}`, () =>
    Effect.gen(function* () {
      const format = pcm16Format(16000)
      const audio = joinBytes(
        Array.from(
          yield* Stream.runCollect(
            makeOpenAiTts(live(), { timeoutMs: 30_000 }).synthesize("The price of bitcoin.", format)
          )
        )
      )
      assert.isAbove(audio.byteLength, 16000)
      const frames: Array<SttInput> = []
      for (let i = 0; i < audio.byteLength; i += 640) frames.push({ _tag: "Audio", pcm: audio.subarray(i, i + 640) })
      frames.push({ _tag: "Commit" })
      const stt = makeOpenAiStt(live(), { timeoutMs: 30_000, speechThreshold: 300, endSilenceMs: 2000 })
      const { items, error } = yield* collect(stt.transcribe(sttAudioFromIterable(frames), format))
      assert.isUndefined(error)
      const text = items.flatMap((e) => (e._tag === "Final" ? [e.text] : [])).join(" ")
      assert.match(text.toLowerCase(), /bitcoin/)
    })
  )
})

// Protocol v1 schemas (src/domain/Protocol.ts) and the inbound decoder (src/session/Inbound.ts).
import { assert, describe, it } from "@effect/vitest"
import { Result, Schema } from "effect"
import { ClientMessage, ClientMessageTypes, MaxTextInputLength, ServerEvent } from "../../src/domain/Protocol.ts"
import { checkAudioFrame, decodeClientText } from "../../src/session/Inbound.ts"

const decodeClient = Schema.decodeUnknownSync(ClientMessage)
const encodeClient = Schema.encodeSync(ClientMessage)
const decodeServer = Schema.decodeUnknownSync(ServerEvent)
const encodeServer = Schema.encodeSync(ServerEvent)

/** Decodes, encodes back and checks the JSON is unchanged; returns the decoded value. */
const roundTripClient = (json: unknown) => {
  const decoded = decodeClient(json)
  assert.deepStrictEqual(decoded, json)
  assert.deepStrictEqual(JSON.parse(JSON.stringify(encodeClient(decoded))), json)
  return decoded
}

const roundTripServer = (json: unknown) => {
  const decoded = decodeServer(json)
  assert.deepStrictEqual(decoded, json)
  assert.deepStrictEqual(JSON.parse(JSON.stringify(encodeServer(decoded))), json)
  return decoded
}

/** The problem decodeClientText reports for a text frame; fails the test if it decoded. */
const problemOf = (text: string) => {
  const result = decodeClientText(text)
  if (Result.isSuccess(result))
    assert.fail(`expected ${text.slice(0, 80)} to be rejected, got ${JSON.stringify(result.success)}`)
  return result.failure
}

const decodedOf = (text: string) => {
  const result = decodeClientText(text)
  if (Result.isFailure(result))
    assert.fail(`expected ${text.slice(0, 80)} to decode, got ${JSON.stringify(result.failure)}`)
  return result.success
}

describe("ClientMessage round-trips", () => {
  it("session.start with only the type", () => {
    const message = roundTripClient({ type: "session.start" })
    assert.strictEqual(message.type, "session.start")
  })

  it("session.start with input, output and client info", () => {
    roundTripClient({
      type: "session.start",
      input: { encoding: "pcm16", sampleRate: 16000 },
      output: { encoding: "pcm16", sampleRate: 24000 },
      client: { name: "ios-app", version: "2.3.1", platform: "ios" }
    })
  })

  it("session.start with partial input/output objects (optional encoding and sampleRate)", () => {
    roundTripClient({ type: "session.start", input: {}, output: { sampleRate: 48000 } })
    roundTripClient({ type: "session.start", input: { encoding: "pcm16" } })
  })

  it("session.start accepts every supported sample rate", () => {
    for (const sampleRate of [8000, 16000, 22050, 24000, 44100, 48000]) {
      roundTripClient({ type: "session.start", input: { sampleRate }, output: { sampleRate } })
    }
  })

  it("input.commit", () => {
    roundTripClient({ type: "input.commit" })
  })

  it("input.text, including one exactly MaxTextInputLength long", () => {
    roundTripClient({ type: "input.text", text: "What is the price of bitcoin?" })
    roundTripClient({ type: "input.text", text: "x".repeat(MaxTextInputLength) })
  })

  it("response.cancel", () => {
    roundTripClient({ type: "response.cancel" })
  })

  it("ping without id, with a string id and with a numeric id", () => {
    roundTripClient({ type: "ping" })
    roundTripClient({ type: "ping", id: "abc-123" })
    roundTripClient({ type: "ping", id: 42 })
    roundTripClient({ type: "ping", id: 1.5 })
  })

  it("ClientMessageTypes lists exactly the types the union accepts", () => {
    for (const type of ClientMessageTypes) {
      const sample = type === "input.text" ? { type, text: "hi" } : { type }
      assert.strictEqual(decodeClient(sample).type, type)
    }
    assert.deepStrictEqual([...ClientMessageTypes].sort(), [
      "input.commit",
      "input.text",
      "ping",
      "response.cancel",
      "session.start"
    ])
  })

  it("the encoder rejects a value that is not a client message", () => {
    assert.throws(() => encodeClient({ type: "input.text", text: "" }))
  })
})

describe("ServerEvent decodes realistic examples and encodes back to the same JSON", () => {
  it("session.started", () => {
    roundTripServer({
      type: "session.started",
      sessionId: "3f1c9a52-8d3e-4a5b-9c1f-2b7e6d4a0f11",
      protocol: "voice-stream.v1",
      input: { encoding: "pcm16", sampleRate: 16000, channels: 1 },
      output: { encoding: "pcm16", sampleRate: 24000, channels: 1 },
      limits: { maxFrameBytes: 65536, maxTextLength: 4000 }
    })
  })

  it("session.started with another protocol name is rejected", () => {
    assert.throws(() =>
      decodeServer({
        type: "session.started",
        sessionId: "s",
        protocol: "voice-stream.v2",
        input: { encoding: "pcm16", sampleRate: 16000, channels: 1 },
        output: { encoding: "pcm16", sampleRate: 24000, channels: 1 },
        limits: { maxFrameBytes: 65536, maxTextLength: 4000 }
      })
    )
  })

  it("transcript.partial and transcript.final", () => {
    roundTripServer({ type: "transcript.partial", turn: 1, text: "What is the" })
    roundTripServer({ type: "transcript.final", turn: 1, text: "What is the price of bitcoin today?" })
  })

  it("a turn number below 1 or fractional is rejected", () => {
    assert.throws(() => decodeServer({ type: "transcript.final", turn: 0, text: "x" }))
    assert.throws(() => decodeServer({ type: "transcript.final", turn: 1.5, text: "x" }))
  })

  it("context with prices, headlines and missing", () => {
    roundTripServer({
      type: "context",
      turn: 2,
      context: {
        prices: [
          {
            asset: "bitcoin",
            symbol: "BTC",
            price: 97250.12,
            fiat: "USD",
            change24hPct: -1.84,
            source: "coingecko",
            asOf: "2025-05-01T12:00:00.000Z"
          },
          {
            asset: "ethereum",
            symbol: "ETH",
            price: 3120.5,
            fiat: "USD",
            change24hPct: null,
            source: "coingecko",
            asOf: "2025-05-01T12:00:00.000Z"
          }
        ],
        headlines: [
          {
            title: "Bitcoin ETF inflows hit a monthly high",
            url: "https://news.example.com/btc-etf",
            source: "Example News",
            publishedAt: "2025-05-01T10:30:00.000Z"
          }
        ],
        missing: ["news"]
      }
    })
  })

  it("context with an empty enrichment", () => {
    roundTripServer({ type: "context", turn: 1, context: { prices: [], headlines: [], missing: [] } })
  })

  it("context missing one of prices, headlines or missing is rejected", () => {
    const context = { prices: [], headlines: [], missing: [] }
    for (const key of ["prices", "headlines", "missing"] as const) {
      const { [key]: _dropped, ...rest } = context
      assert.throws(() => decodeServer({ type: "context", turn: 1, context: rest }), undefined, undefined, key)
    }
  })

  it("response.text.delta", () => {
    roundTripServer({ type: "response.text.delta", turn: 3, delta: "Bitcoin is trading at " })
  })

  it("response.audio.start and response.audio.done", () => {
    roundTripServer({
      type: "response.audio.start",
      turn: 3,
      format: { encoding: "pcm16", sampleRate: 24000, channels: 1 }
    })
    roundTripServer({ type: "response.audio.done", turn: 3, bytes: 96000, durationMs: 2000 })
    roundTripServer({ type: "response.audio.done", turn: 3, bytes: 4801, durationMs: 100.02083333333333 })
  })

  it("response.done with a full latency breakdown", () => {
    const event = roundTripServer({
      type: "response.done",
      turn: 4,
      text: "Bitcoin is at 97,250 dollars, down 1.8 percent today.",
      latency: {
        sttMs: 251.3,
        enrichmentMs: 21,
        llmFirstTokenMs: 305.7,
        ttsFirstByteMs: 152,
        firstAudioMs: 742.4,
        totalMs: 2310.9
      }
    })
    assert.strictEqual(event.type, "response.done")
  })

  it("response.done for a typed turn: stages that did not run are null", () => {
    roundTripServer({
      type: "response.done",
      turn: 5,
      text: "Hello.",
      latency: {
        sttMs: null,
        enrichmentMs: null,
        llmFirstTokenMs: 300,
        ttsFirstByteMs: null,
        firstAudioMs: null,
        totalMs: 410
      }
    })
  })

  it("response.done without totalMs is rejected (totalMs is not nullable)", () => {
    assert.throws(() =>
      decodeServer({
        type: "response.done",
        turn: 1,
        text: "",
        latency: {
          sttMs: null,
          enrichmentMs: null,
          llmFirstTokenMs: null,
          ttsFirstByteMs: null,
          firstAudioMs: null,
          totalMs: null
        }
      })
    )
  })

  it("response.cancelled with each reason", () => {
    for (const reason of ["client_cancel", "new_turn", "session_end"]) {
      roundTripServer({ type: "response.cancelled", turn: 2, reason, textSent: "Bitcoin is" })
    }
    assert.throws(() => decodeServer({ type: "response.cancelled", turn: 2, reason: "timeout", textSent: "" }))
  })

  it("error without turn", () => {
    roundTripServer({
      type: "error",
      code: "invalid_json",
      message: "Text frames must be JSON control messages",
      recoverable: true
    })
  })

  it("error with turn and retryAfterMs", () => {
    roundTripServer({
      type: "error",
      code: "llm_timeout",
      message: "The language model did not answer in time",
      recoverable: true,
      turn: 7,
      retryAfterMs: 1000
    })
  })

  it("error with an unknown code is rejected", () => {
    assert.throws(() => decodeServer({ type: "error", code: "oops", message: "x", recoverable: false }))
  })

  it("session.ended with each reason", () => {
    for (const reason of [
      "client_closed",
      "server_shutdown",
      "protocol_violation",
      "frame_too_large",
      "internal_error"
    ]) {
      roundTripServer({ type: "session.ended", reason })
    }
    assert.throws(() => decodeServer({ type: "session.ended", reason: "bored" }))
  })

  it("pong with and without id", () => {
    roundTripServer({ type: "pong" })
    roundTripServer({ type: "pong", id: "abc-123" })
    roundTripServer({ type: "pong", id: 42 })
  })

  it("an unknown server event type is rejected", () => {
    assert.throws(() => decodeServer({ type: "response.started", turn: 1 }))
  })
})

describe("decodeClientText", () => {
  it("decodes a valid message into the typed value", () => {
    assert.deepStrictEqual(decodedOf('{"type":"input.text","text":"hello"}'), { type: "input.text", text: "hello" })
    assert.deepStrictEqual(decodedOf('{"type":"session.start","input":{"sampleRate":8000}}'), {
      type: "session.start",
      input: { sampleRate: 8000 }
    })
  })

  it('non-JSON text → "invalid_json"', () => {
    for (const text of ["hello", "{type: 'ping'}", "", '{"type":"ping"', "undefined"]) {
      assert.strictEqual(problemOf(text).code, "invalid_json", text)
    }
  })

  it('a JSON array, number, string, boolean or null → "invalid_message" naming what it got', () => {
    const array = problemOf('[{"type":"ping"}]')
    assert.strictEqual(array.code, "invalid_message")
    assert.include(array.message, "an array")
    const number = problemOf("42")
    assert.strictEqual(number.code, "invalid_message")
    assert.include(number.message, "number")
    const nul = problemOf("null")
    assert.strictEqual(nul.code, "invalid_message")
    assert.include(nul.message, "null")
    assert.strictEqual(problemOf('"ping"').code, "invalid_message")
    assert.strictEqual(problemOf("true").code, "invalid_message")
  })

  it('a missing type → "unknown_message_type" listing the expected types', () => {
    const problem = problemOf('{"text":"hello"}')
    assert.strictEqual(problem.code, "unknown_message_type")
    for (const type of ClientMessageTypes) assert.include(problem.message, type)
  })

  it('an unknown or non-string type → "unknown_message_type" naming it', () => {
    const problem = problemOf('{"type":"session.stop"}')
    assert.strictEqual(problem.code, "unknown_message_type")
    assert.include(problem.message, '"session.stop"')
    assert.strictEqual(problemOf('{"type":42}').code, "unknown_message_type")
    assert.strictEqual(problemOf('{"type":null}').code, "unknown_message_type")
    // A server event type is not a client message.
    assert.strictEqual(problemOf('{"type":"pong"}').code, "unknown_message_type")
  })

  it("the type named in the message is cut short when it is huge", () => {
    const problem = problemOf(JSON.stringify({ type: "x".repeat(10_000) }))
    assert.strictEqual(problem.code, "unknown_message_type")
    assert.isBelow(problem.message.length, 300)
  })

  it('input.text with empty text → "invalid_message"', () => {
    const problem = problemOf('{"type":"input.text","text":""}')
    assert.strictEqual(problem.code, "invalid_message")
    assert.include(problem.message, "input.text")
  })

  it('input.text without text or with a non-string text → "invalid_message"', () => {
    assert.strictEqual(problemOf('{"type":"input.text"}').code, "invalid_message")
    assert.strictEqual(problemOf('{"type":"input.text","text":5}').code, "invalid_message")
  })

  it('input.text longer than MaxTextInputLength → "invalid_message"; exactly at the limit is accepted', () => {
    const tooLong = problemOf(JSON.stringify({ type: "input.text", text: "a".repeat(MaxTextInputLength + 1) }))
    assert.strictEqual(tooLong.code, "invalid_message")
    assert.isAtMost(tooLong.message.length, 320)
    const atLimit = decodedOf(JSON.stringify({ type: "input.text", text: "a".repeat(MaxTextInputLength) }))
    assert.strictEqual(atLimit.type, "input.text")
  })

  it('session.start with sampleRate 12345 → "invalid_message" (input and output)', () => {
    const input = problemOf('{"type":"session.start","input":{"sampleRate":12345}}')
    assert.strictEqual(input.code, "invalid_message")
    assert.include(input.message, "session.start")
    assert.strictEqual(problemOf('{"type":"session.start","output":{"sampleRate":12345}}').code, "invalid_message")
  })

  it('session.start with an encoding other than pcm16 → "invalid_message"', () => {
    assert.strictEqual(problemOf('{"type":"session.start","input":{"encoding":"opus"}}').code, "invalid_message")
  })

  it('session.start with a client value over 200 characters → "invalid_message"', () => {
    const text = JSON.stringify({ type: "session.start", client: { name: "n".repeat(201) } })
    assert.strictEqual(problemOf(text).code, "invalid_message")
    assert.strictEqual(
      decodedOf(JSON.stringify({ type: "session.start", client: { name: "n".repeat(200) } })).type,
      "session.start"
    )
  })

  it('ping with an object id → "invalid_message"', () => {
    const problem = problemOf('{"type":"ping","id":{"n":1}}')
    assert.strictEqual(problem.code, "invalid_message")
    assert.include(problem.message, "ping")
  })

  it('ping with a string id over 100 characters → "invalid_message"', () => {
    assert.strictEqual(problemOf(JSON.stringify({ type: "ping", id: "i".repeat(101) })).code, "invalid_message")
  })

  it("extra unknown fields are accepted and stripped from the decoded message (not rejected)", () => {
    assert.deepStrictEqual(decodedOf('{"type":"ping","id":"a","extra":1}'), { type: "ping", id: "a" })
    assert.deepStrictEqual(decodedOf('{"type":"input.commit","foo":"bar"}'), { type: "input.commit" })
    assert.deepStrictEqual(decodedOf('{"type":"input.text","text":"hi","lang":"en"}'), {
      type: "input.text",
      text: "hi"
    })
    assert.deepStrictEqual(decodedOf('{"type":"session.start","input":{"sampleRate":16000,"channels":2},"x":true}'), {
      type: "session.start",
      input: { sampleRate: 16000 }
    })
  })

  it("never throws, whatever the input", () => {
    for (const text of ["", "{", "[]", "{}", '{"type":{}}', "\u0000", "1e999", '{"__proto__":{"type":"ping"}}']) {
      assert.doesNotThrow(() => decodeClientText(text))
    }
  })
})

describe("checkAudioFrame", () => {
  it('an empty frame → "invalid_audio"', () => {
    const problem = checkAudioFrame(new Uint8Array(0))
    assert.strictEqual(problem?.code, "invalid_audio")
    assert.include(problem?.message, "0")
  })

  it('an odd-length frame → "invalid_audio" naming the length', () => {
    for (const length of [1, 3, 641]) {
      const problem = checkAudioFrame(new Uint8Array(length))
      assert.strictEqual(problem?.code, "invalid_audio", `length ${length}`)
      assert.include(problem?.message, String(length))
    }
  })

  it("an even-length frame → undefined", () => {
    for (const length of [2, 4, 640, 65536]) {
      assert.isUndefined(checkAudioFrame(new Uint8Array(length)), `length ${length}`)
    }
  })

  it("uses the byte length of a view, not of its underlying buffer", () => {
    const buffer = new ArrayBuffer(10)
    assert.strictEqual(checkAudioFrame(new Uint8Array(buffer, 1, 3))?.code, "invalid_audio")
    assert.isUndefined(checkAudioFrame(new Uint8Array(buffer, 1, 4)))
  })
})

describe("NUL characters (Postgres text cannot store them)", () => {
  it("input.text and client info with a NUL are invalid_message", () => {
    const text = decodeClientText(JSON.stringify({ type: "input.text", text: "hi\u0000there" }))
    assert.strictEqual(text._tag === "Failure" && text.failure.code, "invalid_message")
    const client = decodeClientText(JSON.stringify({ type: "session.start", client: { name: "a\u0000b" } }))
    assert.strictEqual(client._tag === "Failure" && client.failure.code, "invalid_message")
  })
})

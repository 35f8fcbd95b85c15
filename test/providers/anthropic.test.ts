// The Anthropic LLM adapter with the real @anthropic-ai/sdk against the local Anthropic fake: the LLM conformance
// suite, what the fake received (headers, system prompt, alternating messages, max_tokens), usage, the fault cases
// (429/500/529/401, `event: error`, drops, malformed streams, hangs under guardStream), that interruption aborts the
// HTTP request, and a live check when ANTHROPIC_API_KEY is set.
import { APIError } from "@anthropic-ai/sdk"
import { afterAll, assert, beforeAll, beforeEach, describe, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Layer, Option, Redacted, Schedule, Semaphore, Stream } from "effect"
import type { PortPolicy } from "../../src/config/PortPolicy.ts"
import type { AnthropicSettings } from "../../src/config/ProviderSettings.ts"
import type { EnrichmentContext } from "../../src/domain/Enrichment.ts"
import { Llm, type LlmChunk, LlmError, type LlmRequest } from "../../src/pipeline/Llm.ts"
import { renderSystemPrompt } from "../../src/pipeline/Prompt.ts"
import { guardStream } from "../../src/pipeline/Resilience.ts"
import { makeAnthropicLlm } from "../../src/providers/anthropic/AnthropicLlm.ts"
import { classifyAnthropicError } from "../../src/providers/anthropic/errors.ts"
import { toAnthropicMessages } from "../../src/providers/anthropic/messages.ts"
import { type AnthropicFake, DefaultAnthropicReply, startAnthropicFake } from "../fakes/AnthropicFake.ts"
import type { RecordedRequest } from "../fakes/sse.ts"
import { llmConformance } from "./conformance.ts"

const Key = "test-anthropic-key"

const settingsFor = (url: string, overrides: Partial<AnthropicSettings> = {}): AnthropicSettings => ({
  apiKey: Option.some(Redacted.make(Key)),
  baseUrl: Option.some(url),
  model: "claude-sonnet-4-6",
  maxTokens: 321,
  ...overrides
})

const context: EnrichmentContext = {
  prices: [
    {
      asset: "Bitcoin",
      symbol: "BTC",
      price: 97250.12,
      fiat: "usd",
      change24hPct: 2.31,
      source: "binance",
      asOf: "2026-11-26T00:00:00.000Z"
    }
  ],
  headlines: [],
  missing: []
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

const collect = <A, E>(stream: Stream.Stream<A, E>) =>
  Effect.gen(function* () {
    const items: Array<A> = []
    const exit = yield* Effect.exit(Stream.runForEach(stream, (a) => Effect.sync(() => items.push(a))))
    const error = Exit.isFailure(exit) ? Option.getOrUndefined(Exit.findErrorOption(exit)) : undefined
    return { items, error }
  })

const textOf = (chunks: ReadonlyArray<LlmChunk>) => chunks.flatMap((c) => (c._tag === "Delta" ? [c.text] : [])).join("")
const firstWords = (n: number) => `${DefaultAnthropicReply.split(" ").slice(0, n).join(" ")} `

const closed = (recorded: RecordedRequest | undefined) =>
  Effect.promise(() => recorded?.closed ?? Promise.resolve()).pipe(
    Effect.timeoutOrElse({ duration: Duration.seconds(3), orElse: () => Effect.die("connection still open") })
  )

const requestsReached = (fake: AnthropicFake, n: number) =>
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

let fake: AnthropicFake
beforeAll(async () => {
  fake = await startAnthropicFake({ apiKey: Key })
})
afterAll(() => fake.close())
beforeEach(() => fake.reset())

const llm = (timeoutMs = 2000) => makeAnthropicLlm(settingsFor(fake.url), { timeoutMs })

describe("Anthropic adapter: conformance over the fake", () => {
  llmConformance(() => Layer.succeed(Llm, makeAnthropicLlm(settingsFor(fake.url), { timeoutMs: 5000 })))
})

describe("toAnthropicMessages", () => {
  it("drops leading assistant turns and empty turns, merges consecutive turns of one role", () => {
    assert.deepStrictEqual(
      toAnthropicMessages([
        { role: "assistant", content: "Welcome!" },
        { role: "user", content: "one" },
        { role: "user", content: "two" },
        { role: "assistant", content: "  " },
        { role: "assistant", content: "answer" },
        { role: "assistant", content: "more" },
        { role: "user", content: "three" }
      ]),
      [
        { role: "user", content: "one\n\ntwo" },
        { role: "assistant", content: "answer\n\nmore" },
        { role: "user", content: "three" }
      ]
    )
  })
})

describe("AnthropicLlm", () => {
  it.live("streams text deltas and one usage, from a request with the right headers and body", () =>
    Effect.gen(function* () {
      const { items, error } = yield* collect(llm().stream(request))
      assert.isUndefined(error)
      assert.strictEqual(textOf(items), DefaultAnthropicReply)
      const usage = items.filter((c) => c._tag === "Usage")
      assert.strictEqual(usage.length, 1)
      assert.strictEqual(items[items.length - 1]!._tag, "Usage")
      const sent = fake.requests[0]!
      assert.strictEqual(sent.path, "/v1/messages")
      assert.strictEqual(sent.headers.authorization, `Bearer ${Key}`)
      assert.isString(sent.headers["anthropic-version"])
      const body = sent.json as {
        model: string
        max_tokens: number
        stream: boolean
        system: string
        messages: unknown
      }
      assert.strictEqual(body.model, "claude-sonnet-4-6")
      assert.strictEqual(body.max_tokens, 321)
      assert.strictEqual(body.stream, true)
      assert.strictEqual(body.system, renderSystemPrompt(request))
      assert.include(body.system, "source binance, as of 2026-11-26T00:00:00.000Z")
      assert.deepStrictEqual(body.messages, request.messages)
      const reported = usage[0]!
      assert.isTrue(reported._tag === "Usage" && reported.inputTokens > 0)
      assert.isTrue(reported._tag === "Usage" && reported.outputTokens === DefaultAnthropicReply.split(" ").length)
    })
  )

  it.live("a history the API would refuse (assistant first, repeated roles) is sent alternating, user first", () =>
    Effect.gen(function* () {
      const { error } = yield* collect(
        llm().stream({
          ...request,
          messages: [
            { role: "assistant", content: "Hi, ask me about prices." },
            { role: "user", content: "bitcoin?" },
            { role: "user", content: "and ether?" }
          ]
        })
      )
      assert.isUndefined(error, "the fake, like the API, rejects non-alternating messages with 400")
      assert.deepStrictEqual((fake.requests[0]!.json as { messages: unknown }).messages, [
        { role: "user", content: "bitcoin?\n\nand ether?" }
      ])
    })
  )

  it.live("no user message at all → bad_request without calling the API", () =>
    Effect.gen(function* () {
      const { error } = yield* collect(
        llm().stream({ ...request, messages: [{ role: "assistant", content: "Hello!" }] })
      )
      assert.strictEqual(error?.reason, "bad_request")
      assert.strictEqual(error?.retryable, false)
      assert.strictEqual(fake.requests.length, 0)
    })
  )

  it.live("429 with retry-after → rate_limited, retryable, with retryAfterMs; the SDK does not retry", () =>
    Effect.gen(function* () {
      fake.script({ kind: "status", status: 429, headers: { "retry-after": "3" } })
      const { items, error } = yield* collect(llm().stream(request))
      assert.deepStrictEqual(items, [])
      assert.instanceOf(error, LlmError)
      assert.strictEqual(error?.reason, "rate_limited")
      assert.strictEqual(error?.retryable, true)
      assert.strictEqual(error?.retryAfterMs, 3000)
      assert.strictEqual(fake.requests.length, 1)
    })
  )

  it.live("500 → unavailable, retryable", () =>
    Effect.gen(function* () {
      fake.script({ kind: "status", status: 500 })
      const { error } = yield* collect(llm().stream(request))
      assert.strictEqual(error?.reason, "unavailable")
      assert.strictEqual(error?.retryable, true)
    })
  )

  it.live("529 overloaded → unavailable, retryable", () =>
    Effect.gen(function* () {
      fake.script({ kind: "status", status: 529 })
      const { error } = yield* collect(llm().stream(request))
      assert.strictEqual(error?.reason, "unavailable")
      assert.strictEqual(error?.retryable, true)
      assert.include(error?.message ?? "", "529")
      assert.strictEqual(fake.requests.length, 1)
    })
  )

  it.live("a wrong key → unauthorized, not retryable; the message carries no key", () =>
    Effect.gen(function* () {
      const wrong = makeAnthropicLlm(
        { ...settingsFor(fake.url), apiKey: Option.some(Redacted.make("sk-ant-wrong")) },
        { timeoutMs: 2000 }
      )
      const { error } = yield* collect(wrong.stream(request))
      assert.strictEqual(error?.reason, "unauthorized")
      assert.strictEqual(error?.retryable, false)
      assert.notInclude(error?.message ?? "", "sk-ant-wrong")
    })
  )

  it.live("`event: error` overloaded_error mid-stream → retryable LlmError after the deltas already emitted", () =>
    Effect.gen(function* () {
      fake.script({ kind: "error-event", afterChunks: 2, errorType: "overloaded_error" })
      const { items, error } = yield* collect(llm().stream(request))
      assert.strictEqual(textOf(items), firstWords(2))
      assert.instanceOf(error, LlmError)
      assert.strictEqual(error?.reason, "unavailable")
      assert.strictEqual(error?.retryable, true)
      assert.include(error?.message ?? "", "overloaded_error")
    })
  )

  it.live("a connection dropped mid-stream fails after the deltas already emitted", () =>
    Effect.gen(function* () {
      fake.script({ kind: "drop", afterChunks: 3 })
      const { items, error } = yield* collect(llm().stream(request))
      assert.strictEqual(textOf(items), firstWords(3))
      assert.strictEqual(error?.reason, "unavailable")
      assert.strictEqual(error?.retryable, true)
    })
  )

  it.live("a malformed event → protocol error", () =>
    Effect.gen(function* () {
      fake.script({ kind: "malformed", afterChunks: 1 })
      const { items, error } = yield* collect(llm().stream(request))
      assert.strictEqual(textOf(items), firstWords(1))
      assert.strictEqual(error?.reason, "protocol")
      assert.strictEqual(error?.retryable, false)
    })
  )

  it.live("a stream that ends without message_stop → protocol error", () =>
    Effect.gen(function* () {
      fake.script({ kind: "end-early", afterChunks: 2 })
      const { items, error } = yield* collect(llm().stream(request))
      assert.strictEqual(textOf(items), firstWords(2))
      assert.strictEqual(error?.reason, "protocol")
    })
  )

  it.live(
    "a hang before the first chunk yields nothing; guardStream turns it into a timeout and aborts the request",
    () =>
      Effect.gen(function* () {
        fake.script({ kind: "hang", when: "before-first-chunk" })
        const permits = yield* Semaphore.make(1)
        const guarded = guardStream(shortPolicy, permits, (fields) => new LlmError(fields))(() => llm().stream(request))
        const { items, error } = yield* collect(guarded)
        assert.deepStrictEqual(items, [])
        assert.strictEqual(error?.reason, "timeout")
        assert.strictEqual(error?.retryable, true)
        yield* closed(fake.requests[0])
        assert.isTrue(fake.requests[0]!.clientClosed)
      })
  )

  it.live("a hang before any response headers → the SDK timeout gives a retryable timeout", () =>
    Effect.gen(function* () {
      fake.script({ kind: "hang", when: "before-headers" })
      const { error } = yield* collect(llm(300).stream(request))
      assert.strictEqual(error?.reason, "timeout")
      assert.strictEqual(error?.retryable, true)
      assert.strictEqual(fake.requests.length, 1)
    })
  )

  it.live("interrupting the stream aborts the HTTP request", () =>
    Effect.gen(function* () {
      fake.script({ kind: "reply", delayMs: 100 })
      const fiber = yield* Effect.forkChild(Stream.runCollect(llm().stream(request)))
      yield* requestsReached(fake, 1)
      yield* Effect.sleep(Duration.millis(250))
      yield* Fiber.interrupt(fiber)
      yield* closed(fake.requests[0])
      assert.isTrue(fake.requests[0]!.clientClosed)
    })
  )
})

describe("classifyAnthropicError", () => {
  const of = (status: number, type?: string, headers = new Headers()) =>
    classifyAnthropicError(
      APIError.generate(status, { type: "error", error: { type, message: "x" } }, undefined, headers),
      0
    )
  /** As the SDK builds it for an `event: error` in a stream: no status, the error type from the body. */
  const streamed = (type: string) =>
    classifyAnthropicError(
      new APIError(
        undefined,
        { type: "error", error: { type, message: "x" } },
        undefined,
        new Headers(),
        type as never
      ),
      0
    )

  it("statuses: 529/5xx/408/409/429 retryable, 401/403 unauthorized, 400/404/413 bad_request", () => {
    for (const status of [408, 409, 429, 500, 503, 529]) assert.isTrue(of(status).retryable, `${status}`)
    assert.deepInclude(of(401), { reason: "unauthorized", retryable: false })
    assert.deepInclude(of(403), { reason: "unauthorized", retryable: false })
    for (const status of [400, 404, 413]) assert.deepInclude(of(status), { reason: "bad_request", retryable: false })
  })

  it("mid-stream error types: overloaded/api retryable, rate_limit rate_limited, invalid_request not", () => {
    assert.deepInclude(streamed("overloaded_error"), { reason: "unavailable", retryable: true })
    assert.deepInclude(streamed("api_error"), { reason: "unavailable", retryable: true })
    assert.deepInclude(streamed("rate_limit_error"), { reason: "rate_limited", retryable: true })
    assert.deepInclude(streamed("invalid_request_error"), { reason: "bad_request", retryable: false })
  })

  it("retry-after-ms wins over retry-after", () => {
    const failure = of(529, "overloaded_error", new Headers({ "retry-after-ms": "250", "retry-after": "5" }))
    assert.strictEqual(failure.retryAfterMs, 250)
  })
})

describe("Anthropic live (real API, only with ANTHROPIC_API_KEY)", () => {
  const key = process.env.ANTHROPIC_API_KEY?.trim()
  const skipped = key ? "" : " (skipped: ANTHROPIC_API_KEY is not set)"

  it.live.skipIf(!key)(`live: the Messages API streams a reply and reports usage${skipped}`, () =>
    Effect.gen(function* () {
      const live = makeAnthropicLlm(
        {
          apiKey: Option.some(Redacted.make(key ?? "")),
          baseUrl: Option.fromNullishOr(process.env.ANTHROPIC_BASE_URL?.trim() || undefined),
          model: process.env.ANTHROPIC_MODEL ?? "claude-sonnet-4-6",
          maxTokens: 64
        },
        { timeoutMs: 30_000 }
      )
      const { items, error } = yield* collect(
        live.stream({ ...request, messages: [{ role: "user", content: "Reply with the single word: ready" }] })
      )
      assert.isUndefined(error)
      assert.isAbove(textOf(items).trim().length, 0)
      assert.isTrue(items.some((c) => c._tag === "Usage"))
    })
  )
})

// Traces through a real server to a local OTLP collector: the span tree of full sessions (HTTP request → session →
// turn → stt / enrichment / llm / tts → provider calls) with its parents and attributes, OTLP metrics beside it, and
// not one byte of transcript, typed text, reply text, prompt or token in what leaves the server.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { DefaultSystemPrompt } from "../../src/config/AppConfig.ts"
import {
  type Client,
  connect,
  isRefused,
  startServer,
  type TestServer,
  token,
  utterance
} from "../support/TestServer.ts"
import { waitUntil } from "../support/WaitUntil.ts"
import { type CollectedSpan, startCollector } from "./Collector.ts"
import { type Sample, sampleValue, scrape } from "./Prometheus.ts"

const Transcript = "What is the price of bitcoin today?"
const TypedText = "how is ether doing, marmalade kestrel?"

const opened = async (result: Client | Awaited<ReturnType<typeof connect>>) => {
  if (isRefused(result)) throw new Error(`refused ${result.status}`)
  result.send({ type: "session.start" })
  await result.waitForEvent("session.started")
  return result
}

describe("tracing to an OTLP collector", () => {
  let collector: Awaited<ReturnType<typeof startCollector>>
  let server: TestServer
  let spans: Array<CollectedSpan>
  const jwts: Array<string> = []
  const replies: Array<string> = []
  let sessionId = ""
  let scraped: ReadonlyArray<Sample> = []

  beforeAll(async () => {
    collector = await startCollector()
    server = await startServer({
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      OTEL_SERVICE_NAME: "voice-stream-test",
      OTEL_EXPORTER_OTLP_HEADERS: "x-api-key=collector-key-42",
      OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=test"
    })
    // One spoken and one typed turn, the token in the query string.
    jwts.push(await token("trace-user"))
    const client = await opened(await connect(`${server.url}?token=${jwts[0]}`))
    sessionId = client.find("session.started")!.sessionId
    for (const frame of utterance(800, 200)) client.ws.send(frame)
    client.send({ type: "input.commit" })
    replies.push((await client.waitForEvent("response.done")).text)
    client.send({ type: "input.text", text: TypedText })
    replies.push((await client.waitForEvent("response.done", (e) => e.turn === 2)).text)
    expect(client.find("transcript.final")?.text).toBe(Transcript)
    await client.close()
    // A browser-style session: the token in the subprotocol pair.
    jwts.push(await token("browser-user"))
    const browser = await opened(await connect(server.url, { protocols: ["voice-stream.v1", `bearer.${jwts[1]}`] }))
    await browser.close()
    await waitUntil(async () => (await server.activeSessions()) === 0, "the sessions to end")
    scraped = (await scrape(server.httpUrl)).samples
    // Stopping flushes the exporters.
    await server.stop()
    spans = collector.spans()
  })
  afterAll(() => collector.close())

  const byName = (name: string) => spans.filter((s) => s.name === name)
  const parentOf = (span: CollectedSpan) => spans.find((s) => s.spanId === span.parentSpanId)
  const childrenOf = (span: CollectedSpan, name: string) =>
    spans.filter((s) => s.parentSpanId === span.spanId && s.name === name)

  it("exports OTLP JSON to /v1/traces and /v1/metrics with the service name and the configured headers", () => {
    expect(spans.length).toBeGreaterThan(10)
    expect(spans[0]!.resource["service.name"]).toBe("voice-stream-test")
    expect(spans[0]!.resource["deployment.environment"]).toBe("test")
    expect(collector.bodies.other).toEqual([])
    expect(collector.headers.length).toBeGreaterThan(1)
    for (const headers of collector.headers) {
      expect(headers["x-api-key"]).toBe("collector-key-42")
      expect(headers["content-type"]).toContain("application/json")
    }
  })

  it("a connection is a server span GET /v1/stream with the session span under it", () => {
    const requests = byName("GET /v1/stream")
    expect(requests.length).toBe(2)
    for (const request of requests) {
      expect(request.kind).toBe(2) // server
      expect(request.parentSpanId).toBeUndefined()
      expect(childrenOf(request, "session").length).toBe(1)
    }
    const session = byName("session").find((s) => s.attributes["session.id"] === sessionId)!
    expect(parentOf(session)?.name).toBe("GET /v1/stream")
    expect(session.attributes).toMatchObject({ "session.end_reason": "client_closed", "session.turns": 2 })
    expect(childrenOf(session, "stt.provider")).toHaveLength(1)
    expect(childrenOf(session, "stt.provider")[0]!.attributes).toMatchObject({ provider: "mock" })
  })

  it("each turn is a child of its session with stt (spoken turns), enrichment, llm and tts under it", () => {
    const session = byName("session").find((s) => s.attributes["session.id"] === sessionId)!
    const turns = childrenOf(session, "turn").sort(
      (a, b) => Number(a.attributes["turn.number"]) - Number(b.attributes["turn.number"])
    )
    expect(
      turns.map((t) => [t.attributes["turn.number"], t.attributes["turn.input"], t.attributes["turn.outcome"]])
    ).toEqual([
      [1, "audio", "done"],
      [2, "text", "done"]
    ])
    for (const turn of turns) {
      expect(turn.traceId).toBe(session.traceId)
      expect(turn.attributes["session.id"]).toBe(sessionId)
      expect(turn.attributes["latency.total_ms"]).toBeGreaterThan(0)
      expect(turn.attributes["latency.first_audio_ms"]).toBeGreaterThan(0)
      expect(childrenOf(turn, "enrichment")).toHaveLength(1)
      expect(childrenOf(turn, "llm")).toHaveLength(1)
      expect(childrenOf(turn, "tts")).toHaveLength(1)
    }
    const [spoken, typed] = turns as [CollectedSpan, CollectedSpan]
    expect(childrenOf(spoken, "stt")).toHaveLength(1)
    expect(childrenOf(spoken, "stt")[0]!.attributes).toMatchObject({ provider: "mock" })
    expect(childrenOf(spoken, "stt")[0]!.attributes["latency.stt_ms"]).toBeGreaterThanOrEqual(0)
    expect(childrenOf(typed, "stt")).toHaveLength(0)
  })

  it("stage spans carry provider, model, time to first output, usage and outcome; provider calls sit under them", () => {
    for (const llm of byName("llm")) {
      expect(llm.attributes).toMatchObject({ provider: "mock", model: "mock-1", outcome: "ok" })
      expect(llm.attributes["llm.first_token_ms"]).toBeGreaterThanOrEqual(0)
      expect(llm.attributes["llm.input_tokens"]).toBeGreaterThan(0)
      expect(llm.attributes["llm.output_tokens"]).toBeGreaterThan(0)
      const calls = childrenOf(llm, "llm.provider")
      expect(calls).toHaveLength(1)
      expect(calls[0]!.attributes).toMatchObject({ provider: "mock", model: "mock-1", outcome: "ok", attempts: 1 })
      expect(calls[0]!.attributes.output_tokens).toBe(llm.attributes["llm.output_tokens"])
    }
    for (const tts of byName("tts")) {
      expect(tts.attributes).toMatchObject({ provider: "mock", outcome: "ok" })
      expect(tts.attributes["tts.first_byte_ms"]).toBeGreaterThanOrEqual(0)
      expect(tts.attributes["tts.characters"]).toBeGreaterThan(0)
      expect(tts.attributes["tts.audio_seconds"]).toBeGreaterThan(0)
      const calls = childrenOf(tts, "tts.provider")
      expect(calls.length).toBe(tts.attributes["tts.requests"])
      for (const call of calls) expect(call.attributes.audio_bytes).toBeGreaterThan(0)
    }
    for (const enrichment of byName("enrichment")) {
      expect(enrichment.attributes).toMatchObject({ provider: "mock", outcome: "ok" })
      expect(childrenOf(enrichment, "enrichment.provider")).toHaveLength(1)
    }
  })

  it("the request URL keeps no token: ?token= is redacted, no header is recorded", () => {
    const [withQuery] = byName("GET /v1/stream").filter((s) => String(s.attributes["url.full"]).includes("token="))
    expect(withQuery!.attributes["url.full"]).toMatch(/\/v1\/stream\?token=REDACTED$/)
    expect(withQuery!.attributes["url.query"]).toBe("token=REDACTED")
    for (const span of spans) {
      expect(Object.keys(span.attributes).filter((k) => k.startsWith("http.request.header"))).toEqual([])
    }
  })

  it("no transcript, typed text, reply text, system prompt, JWT or bearer subprotocol anywhere in the payload", () => {
    const raw = [...collector.bodies.traces, ...collector.bodies.metrics].join("\n")
    const forbidden = [
      Transcript,
      "price of bitcoin",
      TypedText,
      "marmalade",
      ...replies,
      ...replies.map((r) => r.slice(0, 20)),
      DefaultSystemPrompt.slice(0, 40),
      ...jwts,
      ...jwts.map((j) => j.split(".")[2]!),
      "bearer.",
      "collector-key-42"
    ]
    for (const text of forbidden) expect(raw.includes(text), text).toBe(false)
  })

  it("counts the spoken turn's audio for the STT provider and its stt latency", () => {
    // 50 frames of 20 ms were sent.
    expect(sampleValue(scraped, "voice_stream_provider_audio_seconds_total", { provider: "mock", kind: "stt" })).toBe(1)
    expect(sampleValue(scraped, "voice_stream_stage_latency_seconds_count", { stage: "stt" })).toBe(1)
    expect(sampleValue(scraped, "voice_stream_turns_total", { outcome: "done", input: "audio" })).toBe(1)
  })

  it("exports the metrics over OTLP too", () => {
    const names = collector.metricNames()
    for (const name of [
      "voice_stream_turns_total",
      "voice_stream_stage_latency_seconds",
      "voice_stream_websocket_connections",
      "voice_stream_provider_requests_total"
    ]) {
      expect(names.has(name), name).toBe(true)
    }
  })
})

describe("trace sampling", () => {
  it("OTEL_TRACES_SAMPLER=always_off exports no span, metrics still go", async () => {
    const collector = await startCollector()
    const server = await startServer({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_TRACES_SAMPLER: "always_off" })
    const client = await opened(await connect(server.url, { headers: { authorization: `Bearer ${await token("s")}` } }))
    client.send({ type: "input.text", text: "bitcoin?" })
    await client.waitForEvent("response.done")
    await client.close()
    await server.stop()
    expect(collector.spans()).toEqual([])
    expect(collector.metricNames().has("voice_stream_turns_total")).toBe(true)
    await collector.close()
  })
})

// GET /metrics on a real server after a scripted session (one typed turn, one cancelled turn, one bad message, one
// refused upgrade): every metric is there, with the right counts, in valid Prometheus text; and the bearer token.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Metrics from "../../src/observability/Metrics.ts"
import { connect, isRefused, openSession, startServer, type TestServer } from "../support/TestServer.ts"
import { waitUntil } from "../support/WaitUntil.ts"
import { sampleValue, scrape } from "./Prometheus.ts"

const MetricIds = Object.values(Metrics).flatMap((value) =>
  typeof value === "object" && value !== null && "id" in value ? [String(value.id)] : []
)

describe("GET /metrics after a scripted session", () => {
  let server: TestServer
  let result: Awaited<ReturnType<typeof scrape>>
  let audioBytes = 0
  let doneDeltas = 0

  beforeAll(async () => {
    // A slower LLM, so the second turn is surely cancelled before it ends.
    server = await startServer({ STREAM_MOCK_LLM_TOKENS_PER_SEC: "40" })
    const refused = await connect(server.url)
    expect(isRefused(refused) && refused.status).toBe(401)

    const client = await openSession(server, "metrics-user")
    client.ws.send("this is not json")
    await client.waitForEvent("error")
    client.send({ type: "input.text", text: "how is bitcoin doing?" })
    const done = await client.waitForEvent("response.done")
    doneDeltas = client.ofType("response.text.delta").filter((e) => e.turn === done.turn).length
    client.send({ type: "input.text", text: "and ether?" })
    await client.waitForEvent("response.text.delta", (e) => e.turn === 2)
    client.send({ type: "response.cancel" })
    await client.waitForEvent("response.cancelled")
    await client.close()
    audioBytes = client.audioBytes
    await waitUntil(async () => (await server.activeSessions()) === 0, "the session to end")
    result = await scrape(server.httpUrl)
  })
  afterAll(() => server.stop())

  it("is Prometheus text 0.0.4 with HELP and TYPE for every family, and names every metric of Metrics.ts", () => {
    expect(result.contentType).toBe("text/plain; version=0.0.4; charset=utf-8")
    for (const id of MetricIds) {
      expect(result.families.has(id), id).toBe(true)
      expect(result.families.get(id)!.help, id).toBeTruthy()
    }
    expect(MetricIds.length).toBe(26)
    expect([...result.families.keys()].sort()).toEqual([...MetricIds].sort())
    for (const family of result.families.values()) {
      expect(family.name.startsWith("voice_stream_"), family.name).toBe(true)
      if (family.type === "counter") expect(family.name.endsWith("_total"), family.name).toBe(true)
    }
  })

  it("counts the connection, the session and its end", () => {
    const v = (name: string, labels: Record<string, string> = {}) => sampleValue(result.samples, name, labels)
    expect(v("voice_stream_websocket_connections")).toBe(0)
    expect(v("voice_stream_sessions_started_total")).toBe(1)
    expect(v("voice_stream_sessions_ended_total", { reason: "client_closed" })).toBe(1)
    for (const reason of [
      "server_shutdown",
      "protocol_violation",
      "frame_too_large",
      "internal_error",
      "interrupted"
    ]) {
      expect(v("voice_stream_sessions_ended_total", { reason })).toBe(0)
    }
  })

  it("counts turns by outcome, the bad message by stage and code, the refusal by reason", () => {
    const v = (name: string, labels: Record<string, string> = {}) => sampleValue(result.samples, name, labels)
    expect(v("voice_stream_turns_total", { outcome: "done", input: "text" })).toBe(1)
    expect(v("voice_stream_turns_total", { outcome: "cancelled", input: "text" })).toBe(1)
    expect(v("voice_stream_turns_total", { outcome: "failed", input: "text" })).toBe(0)
    for (const outcome of ["done", "failed", "cancelled"]) {
      expect(v("voice_stream_turns_total", { outcome, input: "audio" })).toBe(0)
    }
    const errors = result.samples.filter((s) => s.name === "voice_stream_errors_total")
    expect(errors.length).toBe(16)
    expect(errors.filter((s) => s.value > 0)).toEqual([
      { name: "voice_stream_errors_total", labels: { stage: "protocol", code: "invalid_json" }, value: 1 }
    ])
    const refusals = result.samples.filter((s) => s.name === "voice_stream_upgrade_refusals_total")
    expect(refusals.map((s) => s.labels.reason).sort()).toEqual(
      [
        "draining",
        "forbidden_origin",
        "internal_error",
        "rate_limited",
        "server_at_capacity",
        "too_many_sessions",
        "unauthorized",
        "upgrade_required"
      ].sort()
    )
    expect(refusals.filter((s) => s.value > 0)).toEqual([
      { name: "voice_stream_upgrade_refusals_total", labels: { reason: "unauthorized" }, value: 1 }
    ])
  })

  it("has a latency histogram per stage with one observation per measured turn", () => {
    const count = (stage: string) => sampleValue(result.samples, "voice_stream_stage_latency_seconds_count", { stage })
    expect(count("stt")).toBe(0)
    expect(count("enrichment")).toBe(2)
    expect(count("llm_first_token")).toBe(2)
    expect(count("total")).toBe(1)
    expect(count("tts_first_byte")).toBeGreaterThanOrEqual(1)
    expect(count("first_audio")).toBeGreaterThanOrEqual(1)
    const buckets = result.samples.filter(
      (s) => s.name === "voice_stream_stage_latency_seconds_bucket" && s.labels.stage === "total"
    )
    expect(buckets.map((s) => s.labels.le)).toEqual([...Metrics.LatencyBoundariesSeconds.map(String), "+Inf"])
    const total = sampleValue(result.samples, "voice_stream_stage_latency_seconds_sum", { stage: "total" })
    expect(total).toBeGreaterThan(0)
    expect(total).toBeLessThan(10)
  })

  it("counts provider usage by provider and kind, and the reply audio written", () => {
    const v = (name: string, kind: string) => sampleValue(result.samples, name, { provider: "mock", kind })
    expect(v("voice_stream_provider_requests_total", "llm")).toBe(2)
    expect(v("voice_stream_provider_requests_total", "enrichment")).toBe(2)
    expect(v("voice_stream_provider_requests_total", "stt")).toBe(1)
    expect(v("voice_stream_provider_requests_total", "tts")).toBeGreaterThanOrEqual(1)
    expect(v("voice_stream_provider_input_tokens_total", "llm")).toBeGreaterThan(0)
    // The cancelled reply never got to its usage report: only the finished one's tokens are counted.
    expect(v("voice_stream_provider_output_tokens_total", "llm")).toBe(doneDeltas)
    expect(v("voice_stream_provider_characters_total", "tts")).toBeGreaterThan(0)
    expect(v("voice_stream_provider_audio_seconds_total", "stt")).toBe(0)
    const errors = result.samples.filter((s) => s.name === "voice_stream_provider_errors_total")
    expect(errors.length).toBe(4 * 7)
    expect(errors.every((s) => s.value === 0)).toBe(true)
    expect(audioBytes).toBeGreaterThan(0)
    expect(sampleValue(result.samples, "voice_stream_outbound_audio_bytes_total")).toBe(audioBytes)
  })

  it("has the store backlog and the process gauges", () => {
    const v = (name: string, labels: Record<string, string> = {}) => sampleValue(result.samples, name, labels)
    expect(v("voice_stream_store_pending_records")).toBeGreaterThanOrEqual(0)
    expect(v("voice_stream_store_spilled_records")).toBe(0)
    expect(v("voice_stream_store_degraded")).toBe(0)
    expect(v("voice_stream_store_rejected_records")).toBe(0)
    expect(v("voice_stream_process_resident_memory_bytes")).toBeGreaterThan(10 * 1024 * 1024)
    expect(v("voice_stream_process_heap_used_bytes")).toBeGreaterThan(0)
    expect(v("voice_stream_process_heap_total_bytes")).toBeGreaterThanOrEqual(v("voice_stream_process_heap_used_bytes"))
    expect(v("voice_stream_process_memory_limit_bytes")).toBeGreaterThan(
      v("voice_stream_process_resident_memory_bytes")
    )
    expect(v("voice_stream_process_cpu_seconds_total")).toBeGreaterThan(0)
    for (const stat of ["mean", "p50", "p99", "max"]) {
      expect(v("voice_stream_event_loop_delay_seconds", { stat })).toBeGreaterThanOrEqual(0)
    }
  })
})

describe("GET /metrics with STREAM_METRICS_TOKEN", () => {
  const Token = "metrics-token-0123456789abcdef"
  let server: TestServer
  beforeAll(async () => {
    server = await startServer({ STREAM_METRICS_TOKEN: Token, STREAM_MEMORY_LIMIT_MB: "2048" })
  })
  afterAll(() => server.stop())

  it("answers 401 without the token or with a wrong one, and the metrics with it", async () => {
    const without = await fetch(`${server.httpUrl}/metrics`)
    expect(without.status).toBe(401)
    expect(without.headers.get("www-authenticate")).toBe('Bearer realm="metrics"')
    expect(await without.json()).toMatchObject({ error: "unauthorized" })
    const wrong = await fetch(`${server.httpUrl}/metrics`, { headers: { authorization: `Bearer ${Token}x` } })
    expect(wrong.status).toBe(401)
    const prefix = await fetch(`${server.httpUrl}/metrics`, {
      headers: { authorization: `Bearer ${Token.slice(0, 8)}` }
    })
    expect(prefix.status).toBe(401)
    const scraped = await scrape(server.httpUrl, { authorization: `Bearer ${Token}` })
    expect(sampleValue(scraped.samples, "voice_stream_process_memory_limit_bytes")).toBe(2048 * 1024 * 1024)
    // Health checks stay open.
    expect((await fetch(`${server.httpUrl}/healthz`)).status).toBe(200)
  })
})

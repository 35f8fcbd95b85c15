// The real server on an ephemeral loopback port, driven by a real `ws` client: turns end to end, every refusal
// before the upgrade, exact caps under a burst, bad input, oversize frames, teardown and shutdown.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  type Client,
  connect,
  isRefused,
  openSession,
  type Refused,
  startServer,
  type TestServer,
  token,
  utterance
} from "../support/TestServer.ts"
import { waitUntil } from "../support/WaitUntil.ts"

const bearer = async (sub: string) => ({ authorization: `Bearer ${await token(sub)}` })

describe("server: sessions end to end", () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer({ STREAM_MAX_FRAME_BYTES: "4096" })
  })
  afterAll(() => server.stop())

  it("GET /healthz and /readyz answer; unknown routes get a JSON 404", async () => {
    const health = await fetch(`${server.httpUrl}/healthz`)
    expect(health.status).toBe(200)
    const ready = await fetch(`${server.httpUrl}/readyz`)
    expect(ready.status).toBe(200)
    expect(await ready.json()).toMatchObject({ status: "ready" })
    const missing = await fetch(`${server.httpUrl}/nope`)
    expect(missing.status).toBe(404)
    expect(await missing.json()).toMatchObject({ error: "not_found" })
  })

  it("a full audio turn: partials, final, context, text, audio start/frames/done, response.done with latencies", async () => {
    const client = await openSession(server)
    for (const frame of utterance(800, 200)) client.ws.send(frame)
    client.send({ type: "input.commit" })
    const done = await client.waitForEvent("response.done")
    expect(client.find("transcript.final")?.text).toBe("What is the price of bitcoin today?")
    expect(client.ofType("transcript.partial").length).toBeGreaterThan(0)
    expect(client.find("context")?.context.prices.map((p) => p.symbol)).toEqual(["BTC"])
    expect(done.text).toBe(
      client
        .ofType("response.text.delta")
        .map((e) => e.delta)
        .join("")
    )
    expect(done.latency.sttMs).not.toBeNull()
    expect(done.latency.firstAudioMs).not.toBeNull()
    const audioDone = client.find("response.audio.done")!
    expect(audioDone.bytes).toBe(client.audioBytes)
    expect(audioDone.bytes).toBeGreaterThan(0)
    const order = client.events.map((e) => e.type)
    expect(order.indexOf("transcript.final")).toBeLessThan(order.indexOf("response.audio.start"))
    expect(order.indexOf("response.audio.done")).toBeLessThan(order.indexOf("response.done"))
    // Every provider stream of the session ran on the server's own scheduler (decision 38).
    expect([...server.counts.schedulers]).toEqual(["DrainingScheduler"])
    await client.close()
  })

  it("a typed turn over the browser subprotocol pair; the server answers voice-stream.v1", async () => {
    const jwt = await token("browser-user")
    const result = await connect(server.url, { protocols: ["voice-stream.v1", `bearer.${jwt}`] })
    if (isRefused(result)) throw new Error(`refused ${result.status}`)
    expect(result.ws.protocol).toBe("voice-stream.v1")
    result.send({ type: "session.start" })
    result.send({ type: "input.text", text: "how is ether doing?" })
    const done = await result.waitForEvent("response.done")
    expect(done.latency.sttMs).toBeNull()
    expect(result.find("context")?.context.prices.map((p) => p.symbol)).toEqual(["ETH"])
    await result.close()
  })

  it("a token in the query string is accepted", async () => {
    const result = await connect(`${server.url}?token=${await token("query-user")}`)
    expect(isRefused(result)).toBe(false)
    await (result as Client).close()
  })

  it("a bad message gets an error event and the session goes on to a good turn", async () => {
    const client = await openSession(server)
    client.ws.send("this is not json")
    client.send({ type: "input.text", text: "" })
    const first = await client.waitForEvent("error")
    expect(first).toMatchObject({ code: "invalid_json", recoverable: true })
    await client.waitFor((c) => c.ofType("error").length === 2, "second error")
    expect(client.ofType("error")[1]).toMatchObject({ code: "invalid_message", recoverable: true })
    client.send({ type: "input.text", text: "bitcoin?" })
    await client.waitForEvent("response.done")
    await client.close()
  })

  it("a frame over STREAM_MAX_FRAME_BYTES closes the connection with 1009", async () => {
    const client = await openSession(server)
    client.ws.send(Buffer.alloc(8192))
    const closed = await client.waitClosed()
    expect(closed.code).toBe(1009)
  })

  it("a disconnect mid-reply releases the session and every provider stream", async () => {
    const client = await openSession(server, "leaver")
    for (const frame of utterance(300, 0)) client.ws.send(frame)
    client.send({ type: "input.text", text: "bitcoin?" })
    await client.waitForEvent("response.text.delta")
    client.ws.terminate()
    await client.waitClosed()
    await waitUntil(
      async () => (await server.activeSessions()) === 0 && server.counts.total() === 0,
      "the server's teardown"
    )
    expect(server.counts.total()).toBe(0)
  })

  it("100 sequential sessions leave no live session, provider stream or extra open handle behind", async () => {
    const handlesBefore = openHandles()
    for (let i = 0; i < 100; i++) {
      const client = await openSession(server, `seq-${i % 7}`)
      client.send({ type: "ping", id: i })
      await client.waitForEvent("pong")
      if (i % 2 === 0) await client.close()
      else {
        client.ws.terminate()
        await client.waitClosed()
      }
    }
    await waitUntil(async () => (await server.activeSessions()) === 0, "the server's teardown")
    expect(server.counts.total()).toBe(0)
    await waitUntil(async () => openHandles() <= handlesBefore + 2, "the server's teardown")
    expect(openHandles()).toBeLessThanOrEqual(handlesBefore + 2)
  })
})

describe("server: admission before the upgrade", () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer({
      STREAM_CORS_ORIGIN: "https://app.example.com",
      STREAM_MAX_CONCURRENT_SESSIONS: "10",
      STREAM_MAX_SESSIONS_PER_USER: "3"
    })
  })
  afterAll(() => server.stop())

  const refusal = async (result: Promise<Client | Refused>) => {
    const r = await result
    if (!isRefused(r)) {
      await r.close()
      throw new Error("expected a refusal")
    }
    return r
  }

  it.each([
    ["no token", async () => ({})],
    ["a garbage token", async () => ({ authorization: "Bearer not.a.jwt" })],
    ["an expired token", async () => ({ authorization: `Bearer ${await token("a", { exp: 1000 })}` })],
    [
      "a token signed with another secret",
      async () => ({ authorization: `Bearer ${await token("a", { secret: "x".repeat(40) })}` })
    ],
    ["a token without sub", async () => ({ authorization: `Bearer ${await token(undefined)}` })]
  ])("401 unauthorized for %s", async (_name, headers) => {
    const r = await refusal(connect(server.url, { headers: await headers() }))
    expect(r.status).toBe(401)
    expect(r.body.error).toBe("unauthorized")
    expect(r.body.message.length).toBeGreaterThan(0)
  })

  it("403 forbidden_origin for an Origin not listed; a listed one is admitted", async () => {
    const r = await refusal(
      connect(server.url, { headers: { ...(await bearer("o")), origin: "https://evil.example" } })
    )
    expect(r).toMatchObject({ status: 403, body: { error: "forbidden_origin" } })
    const ok = await connect(server.url, { headers: { ...(await bearer("o")), origin: "https://app.example.com" } })
    expect(isRefused(ok)).toBe(false)
    await (ok as Client).close()
  })

  it("426 upgrade_required for a plain GET", async () => {
    const response = await fetch(server.url.replace("ws://", "http://"))
    expect(response.status).toBe(426)
    expect(await response.json()).toMatchObject({ error: "upgrade_required" })
  })

  it("the instance cap is exact under a burst of 50 simultaneous connects: 10 admitted, 40 refused 503", async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => connect(server.url, { headers: await bearer(`burst-${i}`) }))
    )
    const admitted = results.filter((r): r is Client => !isRefused(r))
    try {
      expect(admitted.length).toBe(10)
      expect(await server.activeSessions()).toBe(10)
      const refused = results.filter(isRefused)
      expect(refused.length).toBe(40)
      expect(refused.every((r) => r.status === 503 && r.body.error === "server_at_capacity")).toBe(true)
    } finally {
      await Promise.all(admitted.map((c) => c.close()))
      await waitUntil(async () => (await server.activeSessions()) === 0, "the server's teardown")
    }
  })

  it("a burst of 50 from one user admits exactly STREAM_MAX_SESSIONS_PER_USER", async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, async () => connect(server.url, { headers: await bearer("one-user") }))
    )
    const admitted = results.filter((r): r is Client => !isRefused(r))
    try {
      expect(admitted.length).toBe(3)
      expect(results.filter(isRefused).every((r) => r.status === 429 && r.body.error === "too_many_sessions")).toBe(
        true
      )
    } finally {
      await Promise.all(admitted.map((c) => c.close()))
      await waitUntil(async () => (await server.activeSessions()) === 0, "the server's teardown")
    }
  })
})

describe("server: shutdown", () => {
  it("drains: readyz 503 and new upgrades refused at once, the reply in flight finishes, then 1012", async () => {
    // A slow reply (20 tokens/s) keeps the session busy while the server drains.
    const server = await startServer({ STREAM_SHUTDOWN_GRACE_MS: "5000", STREAM_MOCK_LLM_TOKENS_PER_SEC: "20" })
    const client = await openSession(server)
    client.send({ type: "input.text", text: "bitcoin?" })
    await client.waitForEvent("response.text.delta")
    const stopping = server.stop()
    const ready = await fetch(`${server.httpUrl}/readyz`)
    expect(ready.status).toBe(503)
    expect(await ready.json()).toMatchObject({ status: "draining" })
    const late = await connect(server.url, { headers: await bearer("late") })
    expect(isRefused(late) && late.status).toBe(503)
    expect(isRefused(late) && late.body.error).toBe("draining")
    const closed = await client.waitClosed()
    expect(closed.code).toBe(1012)
    expect(client.events.slice(-2).map((e) => e.type)).toEqual(["response.done", "session.ended"])
    expect(client.events.at(-1)).toEqual({ type: "session.ended", reason: "server_shutdown" })
    await stopping
  })
})

const openHandles = () => (process as unknown as { _getActiveHandles(): Array<unknown> })._getActiveHandles().length

// Admission limits on a real server (in-memory store): connection attempts per user and per IP answered with 429
// and Retry-After; X-Forwarded-For believed only from a trusted proxy; a client that stops reading is cut off.
import { get } from "node:http"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  type Client,
  connect,
  isRefused,
  openSession,
  type Refused,
  startServer,
  type TestServer,
  token
} from "../support/TestServer.ts"

const attempt = async (server: TestServer, sub: string, headers: Record<string, string> = {}) => {
  const result = await connect(server.url, { headers: { authorization: `Bearer ${await token(sub)}`, ...headers } })
  if (!isRefused(result)) await result.close()
  return result
}

/** A refusal with its Retry-After header, read with a plain HTTP request (ws hides the headers). */
const refusalHeaders = async (server: TestServer, sub: string) => {
  const auth = `Bearer ${await token(sub)}`
  return new Promise<{ status: number; retryAfter: string | undefined; body: { error: string } }>((resolve, reject) => {
    const request = get(`${server.httpUrl}/v1/stream`, {
      headers: {
        connection: "Upgrade",
        upgrade: "websocket",
        "sec-websocket-version": "13",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        authorization: auth
      }
    })
    request.on("upgrade", (_res, socket) => {
      socket.destroy()
      reject(new Error("upgraded"))
    })
    request.on("response", (res) => {
      let body = ""
      res.on("data", (chunk: Buffer) => {
        body += chunk.toString()
      })
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          retryAfter: res.headers["retry-after"] as string | undefined,
          body: JSON.parse(body)
        })
      )
    })
    request.on("error", reject)
  })
}

describe("admission rate limits", () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer({
      STREAM_RATE_LIMIT_CONNECT_USER_MAX: "3",
      STREAM_RATE_LIMIT_CONNECT_IP_MAX: "8",
      STREAM_RATE_LIMIT_WINDOW_MS: "60000",
      STREAM_TRUSTED_PROXIES: ""
    })
  })
  afterAll(() => server.stop())

  it("the user limit triggers at exactly the configured count: 429 rate_limited with Retry-After", async () => {
    for (let i = 0; i < 3; i++) expect(isRefused(await attempt(server, "carol"))).toBe(false)
    const refused = (await attempt(server, "carol")) as Refused
    expect(refused.status).toBe(429)
    expect(refused.body.error).toBe("rate_limited")
    const raw = await refusalHeaders(server, "carol")
    expect(raw.status).toBe(429)
    expect(raw.body.error).toBe("rate_limited")
    expect(Number(raw.retryAfter)).toBeGreaterThan(0)
    expect(Number(raw.retryAfter)).toBeLessThanOrEqual(60)
    // Another user is not affected.
    expect(isRefused(await attempt(server, "dave"))).toBe(false)
  })

  it("the IP limit counts every user from one address; a spoofed X-Forwarded-For from an untrusted peer is ignored", async () => {
    // The IP is counted before the user: 6 of 8 attempts were used above (carol ×4, the probe, dave).
    // Fresh users and spoofed addresses from an untrusted peer: still one IP, so 2 more pass.
    const results: Array<Client | Refused> = []
    for (let i = 0; i < 5; i++)
      results.push(await attempt(server, `ip-user-${i}`, { "x-forwarded-for": `198.51.100.${i}` }))
    expect(results.filter((r) => !isRefused(r)).length).toBe(2)
    const last = results.at(-1) as Refused
    expect(last.status).toBe(429)
    expect(last.body.error).toBe("rate_limited")
    const metrics = await (await fetch(`${server.httpUrl}/metrics`)).text()
    expect(metrics).toMatch(/voice_stream_upgrade_refusals_total\{[^}]*reason="rate_limited"[^}]*\} [1-9]/)
    expect(metrics).toMatch(/voice_stream_rate_limited_total\{[^}]*limit="connect_ip"[^}]*\} [1-9]/)
  })
})

describe("trusted proxy", () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer({ STREAM_RATE_LIMIT_CONNECT_IP_MAX: "2", STREAM_TRUSTED_PROXIES: "127.0.0.1/32" })
  })
  afterAll(() => server.stop())

  it("X-Forwarded-For from a trusted proxy names the client: each forwarded address has its own limit", async () => {
    const from = (ip: string, sub: string) => attempt(server, sub, { "x-forwarded-for": ip })
    expect(isRefused(await from("198.51.100.1", "a1"))).toBe(false)
    expect(isRefused(await from("198.51.100.1", "a2"))).toBe(false)
    expect(((await from("198.51.100.1", "a3")) as Refused).status).toBe(429)
    expect(isRefused(await from("198.51.100.2", "b1"))).toBe(false)
  })
})

describe("a client that does not read", () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer({ STREAM_MAX_OUTBOUND_BUFFER_BYTES: "65536" })
  })
  afterAll(() => server.stop())

  it("is cut off once the socket holds more than STREAM_MAX_OUTBOUND_BUFFER_BYTES; the session ends", async () => {
    const client = await openSession(server, "sloth")
    const socket = (client.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket
    socket.pause()
    // Each turn writes reply audio the client never reads, until the socket's buffer passes the limit.
    const deadline = Date.now() + 20000
    for (let i = 0; (await server.activeSessions()) > 0 && Date.now() < deadline; i++) {
      client.send({ type: "input.text", text: `tell me about bitcoin, part ${i}` })
      await new Promise((r) => setTimeout(r, 500))
    }
    expect(await server.activeSessions()).toBe(0)
    socket.resume()
    const closed = await client.waitClosed()
    expect(closed.code).toBe(1008)
    const metrics = await (await fetch(`${server.httpUrl}/metrics`)).text()
    expect(metrics).toMatch(/voice_stream_sessions_ended_total\{[^}]*reason="slow_consumer"[^}]*\} 1/)
  })
})

describe("dead peers and idle sessions", () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer({ STREAM_PING_INTERVAL_MS: "200", STREAM_IDLE_TIMEOUT_MS: "60000" })
  })
  afterAll(() => server.stop())

  const waitForNoSession = async (ms: number) => {
    const deadline = Date.now() + ms
    while ((await server.activeSessions()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    return server.activeSessions()
  }

  it("a peer that answers pings stays; one that stops answering (never reads) is cut by the ping/pong check", async () => {
    const healthy = await openSession(server, "pinged")
    await new Promise((r) => setTimeout(r, 700))
    expect(healthy.closed).toBeUndefined()
    await healthy.close()
    const dead = await openSession(server, "dead-peer")
    ;(dead.ws as unknown as { _socket: { pause(): void } })._socket.pause()
    expect(await waitForNoSession(3000)).toBe(0)
  })
})

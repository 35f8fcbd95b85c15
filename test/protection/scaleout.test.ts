// Scale-out: two instances sharing Redis behind a real nginx (deploy/scale-out/nginx.sh) on loopback ports. The
// balancer reaches both, and the per-user connect limit and session cap hold across them. Skipped with a visible
// reason when nginx or Redis is missing. Each instance keeps its own embedded PGlite folder (one process per folder).
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync } from "node:fs"
import { createServer, connect as tcpConnect } from "node:net"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  type Client,
  connect,
  isRefused,
  type Refused,
  startServer,
  type TestServer,
  token
} from "../support/TestServer.ts"
import { findRedis, uniquePrefix } from "./RedisProbe.ts"

const script = fileURLToPath(new URL("../../deploy/scale-out/nginx.sh", import.meta.url))
const nginxBin = ["/usr/sbin/nginx", "/usr/bin/nginx"].find((path) => existsSync(path))
if (nginxBin === undefined)
  console.warn("scale-out test: nginx is not installed (apt-get install nginx-light); SKIPPED")
const redis = await findRedis()
const skip = nginxBin === undefined || redis === undefined
const reason = nginxBin === undefined ? " (SKIPPED: no nginx)" : redis === undefined ? " (SKIPPED: no Redis)" : ""

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const probe = createServer()
    probe.once("error", reject)
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address()
      probe.close(() => (address !== null && typeof address !== "string" ? resolve(address.port) : reject()))
    })
  })

const listening = async (port: number) => {
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = tcpConnect(port, "127.0.0.1")
      socket.once("connect", () => {
        socket.destroy()
        resolve(true)
      })
      socket.once("error", () => resolve(false))
    })
    if (up) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`nginx did not listen on ${port}`)
}

const portOf = (server: TestServer) => new URL(server.httpUrl).port

describe.skipIf(skip)(`two instances behind nginx, sharing Redis${reason}`, () => {
  let a: TestServer
  let b: TestServer
  let nginx: ChildProcess
  let url: string
  let output = ""
  beforeAll(async () => {
    const env = {
      REDIS_URL: redis!.url,
      STREAM_REDIS_PREFIX: uniquePrefix(),
      STREAM_TRUSTED_PROXIES: "127.0.0.1/32",
      STREAM_RATE_LIMIT_CONNECT_USER_MAX: "4",
      STREAM_MAX_SESSIONS_PER_USER: "2"
    }
    ;[a, b] = await Promise.all([startServer(env), startServer(env)])
    const listen = await freePort()
    nginx = spawn("bash", [script, String(listen), portOf(a), portOf(b)], {
      env: { ...process.env, NGINX_BIN: nginxBin! },
      stdio: ["ignore", "pipe", "pipe"]
    })
    nginx.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()))
    nginx.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()))
    await listening(listen).catch((error) => {
      throw new Error(`${error}\n${output}`)
    })
    url = `ws://127.0.0.1:${listen}/v1/stream`
  })
  afterAll(async () => {
    nginx?.kill("SIGQUIT")
    await Promise.all([a?.stop(), b?.stop()])
  })

  const through = async (sub: string) => connect(url, { headers: { authorization: `Bearer ${await token(sub)}` } })

  it("balances sessions over both instances and the test client works through it", async () => {
    const one = (await through("lb-1")) as Client
    const two = (await through("lb-2")) as Client
    for (const client of [one, two]) {
      client.send({ type: "session.start" })
      await client.waitForEvent("session.started")
    }
    expect([await a.activeSessions(), await b.activeSessions()]).toEqual([1, 1])
    one.send({ type: "input.text", text: "what is bitcoin doing" })
    await one.waitForEvent("response.done")
    await Promise.all([one.close(), two.close()])
  })

  it("one per-user connect limit across both instances: exactly 4 pass, then 429 rate_limited", async () => {
    const results: Array<Client | Refused> = []
    for (let i = 0; i < 7; i++) {
      const result = await through("lb-limited")
      results.push(result)
      if (!isRefused(result)) await result.close()
    }
    expect(results.map((r) => (isRefused(r) ? r.status : 101))).toEqual([101, 101, 101, 101, 429, 429, 429])
    expect((results[4] as Refused).body.error).toBe("rate_limited")
  })

  it("one per-user session cap across both instances under a simultaneous burst", async () => {
    const results = await Promise.all(Array.from({ length: 10 }, () => through("lb-capped")))
    const admitted = results.filter((r): r is Client => !isRefused(r))
    expect(admitted.length).toBe(2)
    const refused = results.filter(isRefused)
    // The burst spends the connect limit (4) too: the rest are refused by one or the other, never admitted.
    expect(refused.every((r) => r.status === 429)).toBe(true)
    await Promise.all(admitted.map((c) => c.close()))
  })
})

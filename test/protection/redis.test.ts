// Limits and per-user caps shared by two server instances through a real Redis (TEST_REDIS_URL or 127.0.0.1:6379;
// skipped with a visible reason without one): one limit across both, an exact cap under a 50-connect burst split
// across both, a killed instance's leases expiring, and Redis going away mid-run (fail open, then shared again).
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startTcpProxy, type TcpProxy } from "../support/TcpProxy.ts"
import {
  type Client,
  connect,
  isRefused,
  openSession,
  type Refused,
  startServer,
  startServerProcess,
  type TestServer,
  token
} from "../support/TestServer.ts"
import { findRedis, uniquePrefix } from "./RedisProbe.ts"

const redis = await findRedis()

const tryConnect = async (server: TestServer, sub: string) =>
  connect(server.url, { headers: { authorization: `Bearer ${await token(sub)}` } })

const closeAll = (results: ReadonlyArray<Client | Refused>) =>
  Promise.all(results.filter((r): r is Client => !isRefused(r)).map((c) => c.close()))

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const metric = async (server: TestServer, pattern: RegExp) => {
  const text = await (await fetch(`${server.httpUrl}/metrics`)).text()
  const match = pattern.exec(text)
  return match === null ? 0 : Number(match[1])
}

describe.skipIf(redis === undefined)(
  `two instances sharing Redis${redis === undefined ? " (SKIPPED: no Redis)" : ""}`,
  () => {
    const prefix = uniquePrefix()
    let a: TestServer
    let b: TestServer
    beforeAll(async () => {
      const env = {
        REDIS_URL: redis!.url,
        STREAM_REDIS_PREFIX: prefix,
        STREAM_RATE_LIMIT_CONNECT_USER_MAX: "5",
        STREAM_RATE_LIMIT_CONNECT_IP_MAX: "100000",
        STREAM_MAX_SESSIONS_PER_USER: "3"
      }
      ;[a, b] = await Promise.all([startServer(env), startServer(env)])
    })
    afterAll(() => Promise.all([a?.stop(), b?.stop()]))

    it("the per-user connect limit triggers at exactly the configured count, shared by both", async () => {
      const results: Array<Client | Refused> = []
      for (let i = 0; i < 8; i++) {
        const result = await tryConnect(i % 2 === 0 ? a : b, "shared-limit")
        results.push(result)
        if (!isRefused(result)) await result.close()
      }
      expect(results.map((r) => (isRefused(r) ? r.status : 101))).toEqual([101, 101, 101, 101, 101, 429, 429, 429])
      expect((results[5] as Refused).body.error).toBe("rate_limited")
    })
  }
)

describe.skipIf(redis === undefined)(
  `two instances, one per-user cap${redis === undefined ? " (SKIPPED: no Redis)" : ""}`,
  () => {
    let a: TestServer
    let b: TestServer
    beforeAll(async () => {
      const env = { REDIS_URL: redis!.url, STREAM_REDIS_PREFIX: uniquePrefix(), STREAM_MAX_SESSIONS_PER_USER: "3" }
      ;[a, b] = await Promise.all([startServer(env), startServer(env)])
    })
    afterAll(() => Promise.all([a?.stop(), b?.stop()]))

    it("50 simultaneous connects of one user split across both admit exactly STREAM_MAX_SESSIONS_PER_USER", async () => {
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => tryConnect(i % 2 === 0 ? a : b, "burst-user"))
      )
      const refused = results.filter(isRefused)
      expect(results.length - refused.length).toBe(3)
      expect(refused.every((r) => r.status === 429 && r.body.error === "too_many_sessions")).toBe(true)
      await closeAll(results)
      // Released on session end: the user can connect again at once.
      await new Promise((resolve) => setTimeout(resolve, 100))
      const again = await tryConnect(b, "burst-user")
      expect(isRefused(again)).toBe(false)
      await closeAll([again])
    })
  }
)

describe.skipIf(redis === undefined)(
  `per-user cap across instances${redis === undefined ? " (SKIPPED: no Redis)" : ""}`,
  () => {
    const prefix = uniquePrefix()
    const env = {
      REDIS_URL: redis?.url ?? "",
      STREAM_REDIS_PREFIX: prefix,
      STREAM_MAX_SESSIONS_PER_USER: "3",
      STREAM_SESSION_LEASE_TTL_MS: "1500"
    }
    let b: TestServer
    beforeAll(async () => {
      b = await startServer(env)
    })
    afterAll(() => b?.stop())

    it("holds exactly across instances under a burst, and a killed instance's leases expire", async () => {
      const killed = await startServerProcess({ ...env, STREAM_DATA_DIR: mkdtempSync(join(tmpdir(), "vs-killed-")) })
      try {
        const burst = await Promise.all(
          Array.from({ length: 50 }, (_, i) => tryConnect(i % 2 === 0 ? killed.server : b, "lease-user"))
        )
        expect(burst.filter((r) => !isRefused(r)).length).toBe(3)
        const onB = burst.filter((r, i): r is Client => !isRefused(r) && i % 2 === 1)
        await Promise.all(onB.map((c) => c.close()))
        // Fill the cap on the instance about to be killed.
        const held: Array<Client> = []
        while (burst.filter((r, i) => !isRefused(r) && i % 2 === 0).length + held.length < 3) {
          held.push(await openSession(killed.server, "lease-user"))
        }
        killed.kill()
        await killed.exited
        // Its leases still hold the user's places…
        const early = await tryConnect(b, "lease-user")
        expect(isRefused(early) && early.status === 429 && early.body.error === "too_many_sessions").toBe(true)
        // …until they expire (TTL 1.5 s, no heartbeat from a dead process).
        await sleep(1700)
        const later = await tryConnect(b, "lease-user")
        expect(isRefused(later)).toBe(false)
        await closeAll([later])
      } finally {
        killed.kill()
      }
    })
  }
)

describe.skipIf(redis === undefined)(
  `Redis going away mid-run${redis === undefined ? " (SKIPPED: no Redis)" : ""}`,
  () => {
    let proxy: TcpProxy
    let server: TestServer
    beforeAll(async () => {
      proxy = await startTcpProxy(redis!.host, redis!.port)
      const url = new URL(redis!.url)
      url.hostname = "127.0.0.1"
      url.port = String(proxy.port)
      server = await startServer({
        REDIS_URL: url.toString(),
        STREAM_REDIS_PREFIX: uniquePrefix(),
        STREAM_RATE_LIMIT_CONNECT_USER_MAX: "4",
        STREAM_REDIS_TIMEOUT_MS: "200"
      })
    })
    afterAll(async () => {
      await server?.stop()
      await proxy?.close()
    })

    it("fails open to per-instance limits, counts the failures, never breaks a live session, and recovers", async () => {
      const live = await openSession(server, "outage-user")
      proxy.cut()
      await sleep(100)
      // Limits still apply, locally: 4 admitted (the earlier connect counted in Redis, not here), then 429.
      const during: Array<Client | Refused> = []
      for (let i = 0; i < 5; i++) {
        const result = await tryConnect(server, "outage-other")
        during.push(result)
        if (!isRefused(result)) await result.close()
      }
      expect(during.map((r) => (isRefused(r) ? r.status : 101))).toEqual([101, 101, 101, 101, 429])
      // The live session still answers.
      live.send({ type: "input.text", text: "what is bitcoin doing" })
      await live.waitForEvent("response.done")
      expect(
        await metric(server, /voice_stream_protection_store_failures_total\{[^}]*operation="rate_limit"[^}]*\} (\d+)/)
      ).toBeGreaterThan(0)
      expect(
        await metric(
          server,
          /voice_stream_protection_store_failures_total\{[^}]*operation="lease_acquire"[^}]*\} (\d+)/
        )
      ).toBeGreaterThan(0)
      proxy.restore()
      // Redis is back: the shared counter is used again (a fresh user starts from its full budget in Redis).
      let recovered = false
      for (let i = 0; i < 50 && !recovered; i++) {
        await sleep(100)
        const before = await metric(
          server,
          /voice_stream_protection_store_failures_total\{[^}]*operation="rate_limit"[^}]*\} (\d+)/
        )
        const result = await tryConnect(server, `after-${i}`)
        if (!isRefused(result)) await result.close()
        const after = await metric(
          server,
          /voice_stream_protection_store_failures_total\{[^}]*operation="rate_limit"[^}]*\} (\d+)/
        )
        recovered = after === before
      }
      expect(recovered).toBe(true)
      await live.close()
    })
  }
)

// Graceful shutdown of the real server process (`node src/main.ts`): SIGTERM during a reply lets the reply finish,
// refuses new sessions, ends the session with session.ended/1012, flushes the store and exits 0 within the grace
// period (the turn is read back by a second server on the same data folder); a second signal exits at once.
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { connect, isRefused, openSession, startServer, startServerProcess, token } from "../support/TestServer.ts"
import { waitUntil } from "../support/WaitUntil.ts"

const GraceMs = 8000

const dataDir = () => mkdtempSync(join(tmpdir(), "vs-shutdown-"))

describe("shutdown of the server process", () => {
  it("SIGTERM mid-reply: the reply completes, session.ended/1012, exit 0 within the grace period, turn persisted", async () => {
    const dir = dataDir()
    const proc = await startServerProcess({
      STREAM_DATA_DIR: dir,
      STREAM_SHUTDOWN_GRACE_MS: String(GraceMs),
      STREAM_MOCK_LLM_TOKENS_PER_SEC: "25"
    })
    const client = await openSession(proc.server, "drain-user")
    const sessionId = client.find("session.started")!.sessionId
    client.send({ type: "input.text", text: "how is bitcoin doing?" })
    await client.waitForEvent("response.text.delta")
    const signalledAt = Date.now()
    proc.signal("SIGTERM")

    // Ready no more, and no new session, while the reply goes on.
    await waitUntil(async () => (await fetch(`${proc.server.httpUrl}/readyz`)).status === 503, "/readyz 503")
    const late = await connect(proc.server.url, { headers: { authorization: `Bearer ${await token("late-user")}` } })
    expect(isRefused(late) && late.status).toBe(503)
    expect(isRefused(late) && late.body.error).toBe("draining")

    const done = await client.waitForEvent("response.done")
    const ended = await client.waitForEvent("session.ended")
    expect(ended.reason).toBe("server_shutdown")
    expect((await client.waitClosed()).code).toBe(1012)
    expect(client.find("response.cancelled")).toBeUndefined()
    const order = client.events.map((e) => e.type)
    expect(order.indexOf("response.done")).toBeLessThan(order.indexOf("session.ended"))

    expect(await proc.exited).toBe(0)
    expect(Date.now() - signalledAt).toBeLessThan(GraceMs)
    expect(proc.output()).toContain("draining")

    // The store was flushed before the exit: a new server on the same folder has the turn and the session's end.
    const second = await startServer({ STREAM_DATA_DIR: dir })
    try {
      const response = await fetch(`${second.httpUrl}/v1/sessions/${sessionId}`, {
        headers: { authorization: `Bearer ${await token("drain-user")}` }
      })
      expect(response.status).toBe(200)
      const session = (await response.json()) as {
        endReason: string
        turns: Array<{ seq: number; assistantText: string; interrupted: boolean; errorCode: string | null }>
      }
      expect(session.endReason).toBe("server_shutdown")
      expect(session.turns).toEqual([
        expect.objectContaining({ seq: 1, assistantText: done.text, interrupted: false, errorCode: null })
      ])
    } finally {
      await second.stop()
    }
  })

  it.each([
    ["SIGTERM", 143],
    ["SIGINT", 130]
  ] as const)("a second %s while draining exits at once with %i", async (signal, status) => {
    const proc = await startServerProcess({
      STREAM_DATA_DIR: dataDir(),
      STREAM_SHUTDOWN_GRACE_MS: "30000",
      STREAM_MOCK_LLM_TOKENS_PER_SEC: "2"
    })
    const client = await openSession(proc.server, "impatient-user")
    client.send({ type: "input.text", text: "how is bitcoin doing?" })
    await client.waitForEvent("response.text.delta")
    proc.signal(signal)
    await waitUntil(() => proc.output().includes("draining"), "the drain to start")
    const againAt = Date.now()
    proc.signal(signal)
    expect(await proc.exited).toBe(status)
    expect(Date.now() - againAt).toBeLessThan(2000)
    expect(proc.output()).toContain(`${signal} received again while draining: exiting now`)
    expect(client.find("response.done")).toBeUndefined()
  })
})

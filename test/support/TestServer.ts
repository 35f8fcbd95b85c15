// A real server on an ephemeral loopback port for integration tests, with counted mock providers, and a small
// promise-based WebSocket client that waits on events (never on fixed sleeps).
import { spawn } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { createServer as createNetServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { ConfigProvider, Effect, Layer, ManagedRuntime } from "effect"
import { HttpServer } from "effect/http"
import { SignJWT } from "jose"
import WebSocket from "ws"
import { makeApp } from "../../src/App.ts"
import type { ServerEvent } from "../../src/domain/Protocol.ts"
import { PersistenceLive } from "../../src/persistence/PersistenceLive.ts"
import { ProvidersLive } from "../../src/providers/Providers.ts"
import { SessionRegistry } from "../../src/session/SessionRegistry.ts"
import { countingLayer, OpenCounts, TestEnv } from "./TestLayers.ts"

export const TestSecret = TestEnv.JWT_SECRET!

/** Fast mock delays: integration tests run in real time. */
const FastEnv: Record<string, string> = {
  ...TestEnv,
  STREAM_WS_PORT: "0",
  STREAM_HOST: "127.0.0.1",
  STREAM_LOG_LEVEL: "error",
  STREAM_MOCK_STT_FINAL_DELAY_MS: "5",
  STREAM_MOCK_STT_ENDPOINT_SILENCE_MS: "100",
  STREAM_MOCK_STT_PARTIAL_EVERY_MS: "100",
  STREAM_MOCK_LLM_FIRST_TOKEN_MS: "5",
  STREAM_MOCK_LLM_TOKENS_PER_SEC: "2000",
  STREAM_MOCK_TTS_FIRST_BYTE_MS: "5",
  STREAM_MOCK_ENRICHMENT_DELAY_MS: "1",
  // Connection rate limits out of the way of tests that open many sessions; test/protection sets its own.
  STREAM_RATE_LIMIT_MAX: "100000"
}

export interface TestServer {
  readonly url: string
  readonly httpUrl: string
  readonly counts: OpenCounts
  readonly dataDir: string
  readonly activeSessions: () => Promise<number>
  readonly stop: () => Promise<void>
}

/**
 * Starts the real server. Its data (the embedded database, the spill file) go to a fresh temporary folder unless
 * `env` names STREAM_DATA_DIR; DATABASE_URL in `env` selects Postgres instead.
 */
export const startServer = async (env: Record<string, string> = {}): Promise<TestServer> => {
  const counts = new OpenCounts()
  const ports = countingLayer(counts).pipe(Layer.provide(ProvidersLive))
  const dataDir = env.STREAM_DATA_DIR ?? mkdtempSync(join(tmpdir(), "vs-server-"))
  const app = makeApp(ports, PersistenceLive).pipe(
    Layer.provide(
      ConfigProvider.layer(ConfigProvider.fromEnv({ env: { ...FastEnv, STREAM_DATA_DIR: dataDir, ...env } }))
    )
  )
  const runtime = ManagedRuntime.make(app)
  const address = await runtime.runPromise(Effect.map(Effect.service(HttpServer.HttpServer), (s) => s.address))
  if (address._tag === "UnixPathAddress") throw new Error("expected a TCP address")
  const base = `127.0.0.1:${address.port}`
  return {
    url: `ws://${base}/v1/stream`,
    httpUrl: `http://${base}`,
    counts,
    dataDir,
    activeSessions: () => runtime.runPromise(Effect.flatMap(Effect.service(SessionRegistry), (r) => r.activeCount)),
    stop: () => runtime.dispose()
  }
}

export const token = (sub: string | undefined, options: { ttl?: string; secret?: string; exp?: number } = {}) => {
  let jwt = new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setIssuedAt()
  if (sub !== undefined) jwt = jwt.setSubject(sub)
  jwt = options.exp !== undefined ? jwt.setExpirationTime(options.exp) : jwt.setExpirationTime(options.ttl ?? "1h")
  return jwt.sign(new TextEncoder().encode(options.secret ?? TestSecret))
}

/** A refused upgrade: the HTTP status and the JSON body. */
export interface Refused {
  readonly status: number
  readonly body: { readonly error: string; readonly message: string }
}

/** A connected client that records every event and audio byte, and can wait for a given event. */
export class Client {
  readonly events: Array<ServerEvent> = []
  audioBytes = 0
  closed: { code: number; reason: string } | undefined
  private readonly waiters: Array<() => void> = []
  readonly ws: WebSocket

  constructor(ws: WebSocket) {
    this.ws = ws
    ws.on("message", (data, isBinary) => {
      if (isBinary) this.audioBytes += (data as Buffer).length
      else this.events.push(JSON.parse(data.toString()) as ServerEvent)
      this.notify()
    })
    ws.on("close", (code, reason) => {
      this.closed = { code, reason: reason.toString() }
      this.notify()
    })
  }

  private notify() {
    for (const waiter of this.waiters.splice(0)) waiter()
  }

  send(message: object) {
    this.ws.send(JSON.stringify(message))
  }

  /** Resolves when `predicate` holds over what was received; rejects if the socket closes first. */
  waitFor(predicate: (client: Client) => boolean, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (predicate(this)) return resolve()
        if (this.closed !== undefined) return reject(new Error(`closed (${this.closed.code}) before ${what}`))
        this.waiters.push(check)
      }
      check()
    })
  }

  waitForEvent<T extends ServerEvent["type"]>(
    type: T,
    matches: (e: Extract<ServerEvent, { type: T }>) => boolean = () => true
  ) {
    return this.waitFor((c) => c.find(type, matches) !== undefined, type).then(() => this.find(type, matches)!)
  }

  find<T extends ServerEvent["type"]>(
    type: T,
    matches: (e: Extract<ServerEvent, { type: T }>) => boolean = () => true
  ) {
    return this.events.find((e): e is Extract<ServerEvent, { type: T }> => e.type === type && matches(e as never))
  }

  ofType<T extends ServerEvent["type"]>(type: T) {
    return this.events.filter((e): e is Extract<ServerEvent, { type: T }> => e.type === type)
  }

  waitClosed(): Promise<{ code: number; reason: string }> {
    return new Promise((resolve) => {
      const check = () => (this.closed !== undefined ? resolve(this.closed) : this.waiters.push(check))
      check()
    })
  }

  close() {
    this.ws.close(1000)
    return this.waitClosed()
  }
}

/** Opens a WebSocket; resolves with a Client once open, or with the refusal. */
export const connect = (
  url: string,
  options: { headers?: Record<string, string>; protocols?: Array<string> } = {}
): Promise<Client | Refused> =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options.protocols ?? [], { headers: options.headers ?? {} })
    const client = new Client(ws)
    ws.once("open", () => resolve(client))
    ws.once("unexpected-response", (_req, res) => {
      let body = ""
      res.on("data", (chunk: Buffer) => {
        body += chunk.toString()
      })
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(body) }))
    })
    ws.once("error", (error) => reject(error))
  })

export const isRefused = (result: Client | Refused): result is Refused => !(result instanceof Client)

/** Connects with a Bearer token and starts the session; fails the test on refusal. */
export const openSession = async (server: TestServer, sub = "alice", start: object = {}) => {
  const result = await connect(server.url, { headers: { authorization: `Bearer ${await token(sub)}` } })
  if (isRefused(result)) throw new Error(`refused: ${result.status} ${result.body.error}`)
  result.send({ type: "session.start", ...start })
  await result.waitForEvent("session.started")
  return result
}

/** 20 ms PCM16 frames at 16 kHz: `speechMs` of a loud tone then `silenceMs` of silence. */
export const utterance = (speechMs: number, silenceMs: number): Array<Buffer> => {
  const frames: Array<Buffer> = []
  for (let t = 0; t < speechMs + silenceMs; t += 20) {
    const frame = Buffer.alloc(640)
    if (t < speechMs) for (let i = 0; i < 320; i++) frame.writeInt16LE(Math.round(8000 * Math.sin(i / 3)), i * 2)
    frames.push(frame)
  }
  return frames
}

/** A free loopback port (bound, read, released). */
const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const probe = createNetServer()
    probe.once("error", reject)
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address()
      probe.close(() =>
        address !== null && typeof address !== "string" ? resolve(address.port) : reject(new Error("no port"))
      )
    })
  })

/**
 * The server as its own process (`node src/main.ts`), for what only a process can show: a crash (SIGKILL) that runs
 * no finalizer. Resolves once it listens.
 */
export const startServerProcess = async (env: Record<string, string>) => {
  const port = await freePort()
  const child = spawn(process.execPath, [fileURLToPath(new URL("../../src/main.ts", import.meta.url))], {
    env: { ...process.env, ...FastEnv, STREAM_LOG_LEVEL: "info", ...env, STREAM_WS_PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"]
  })
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
  let output = ""
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes("Listening on")) resolve()
    }
    child.stdout.on("data", onData)
    child.stderr.on("data", onData)
    exited.then((code) => reject(new Error(`server process exited (${code}) before listening:\n${output}`)))
  })
  const base = `127.0.0.1:${port}`
  const server: TestServer = {
    url: `ws://${base}/v1/stream`,
    httpUrl: `http://${base}`,
    counts: new OpenCounts(),
    dataDir: env.STREAM_DATA_DIR ?? "",
    activeSessions: async () =>
      ((await (await fetch(`http://${base}/readyz`)).json()) as { activeSessions: number }).activeSessions,
    stop: async () => {
      child.kill("SIGTERM")
      await exited
    }
  }
  return {
    server,
    kill: () => child.kill("SIGKILL"),
    exited,
    /** Sends a signal (SIGTERM, SIGINT…) without waiting for the exit. */
    signal: (name: NodeJS.Signals) => child.kill(name),
    /** Everything the process wrote to stdout and stderr so far. */
    output: () => output
  }
}

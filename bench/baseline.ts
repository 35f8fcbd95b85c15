// The raw baseline: a minimal `ws` server doing the least work equivalent to the server under test. It checks the
// same HS256 JWT, answers `session.start` and `ping`, finds the end of speech with the same energy endpointer as the
// mock STT, and after the same configured delays sends reply audio bursts of the same sizes, framed by
// `response.audio.start` / `response.audio.done`; a `response.cancel` stops the reply's bursts still to come and is
// answered with `response.cancelled`. `node bench/baseline.ts '<json>'`; prints `Listening on <port>`.

import { createServer } from "node:http"
import type { Duplex } from "node:stream"
import { jwtVerify } from "jose"
import { WebSocketServer } from "ws"
import { EnergyEndpointer } from "../src/audio/EnergyEndpointer.ts"
import type { Burst } from "./lib/schedule.ts"

interface BaselineConfig {
  readonly port: number
  readonly secret: string
  readonly schedule: ReadonlyArray<Burst>
  readonly endpointSilenceMs: number
  readonly threshold: number
}

const config = JSON.parse(process.argv[2] ?? "{}") as BaselineConfig
const key = new TextEncoder().encode(config.secret)
const format = { encoding: "pcm16", sampleRate: 24000, channels: 1 }
const bursts = config.schedule.map((b) => ({ atMs: b.atMs, frames: b.frameBytes.map((n) => Buffer.alloc(n, 1)) }))
const totalBytes = config.schedule.reduce((n, b) => n + b.frameBytes.reduce((m, x) => m + x, 0), 0)
let active = 0

const http = createServer((req, res) => {
  res.writeHead(req.url === "/readyz" || req.url === "/healthz" ? 200 : 404, { "content-type": "application/json" })
  res.end(JSON.stringify({ status: "ready", activeSessions: active }))
})

const wss = new WebSocketServer({
  server: http,
  path: "/v1/stream",
  maxPayload: 65536,
  verifyClient: (info, done) => {
    const header = info.req.headers.authorization ?? ""
    jwtVerify(header.replace(/^Bearer /, ""), key, { algorithms: ["HS256"] }).then(
      () => done(true),
      () => done(false, 401)
    )
  }
})

wss.on("connection", (ws) => {
  active++
  const endpointer = new EnergyEndpointer({ threshold: config.threshold, endSilenceMs: config.endpointSilenceMs })
  const timers = new Set<ReturnType<typeof setTimeout>>()
  let turn = 0
  const reply = () => {
    const thisTurn = ++turn
    bursts.forEach((burst, i) => {
      const timer = setTimeout(() => {
        timers.delete(timer)
        // A burst leaves in one write, as the server's outbox writes what it has queued (corked socket).
        const socket = (ws as unknown as { readonly _socket?: Duplex })._socket
        socket?.cork()
        if (i === 0) ws.send(JSON.stringify({ type: "response.audio.start", turn: thisTurn, format }))
        for (const frame of burst.frames) ws.send(frame)
        if (i === bursts.length - 1) {
          ws.send(JSON.stringify({ type: "response.audio.done", turn: thisTurn, bytes: totalBytes, durationMs: 0 }))
          ws.send(JSON.stringify({ type: "response.done", turn: thisTurn }))
        }
        socket?.uncork()
      }, burst.atMs)
      timers.add(timer)
    })
  }
  ws.on("message", (data, isBinary) => {
    if (isBinary) {
      if (endpointer.push(data as Buffer, 20) === "speech_ended") reply()
      return
    }
    const message = JSON.parse(String(data)) as { type: string; id?: unknown }
    if (message.type === "ping") ws.send(JSON.stringify({ type: "pong", id: message.id }))
    else if (message.type === "response.cancel") {
      if (timers.size === 0) return
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      ws.send(JSON.stringify({ type: "response.cancelled", turn, reason: "client_cancel", textSent: "" }))
    } else if (message.type === "session.start") {
      ws.send(JSON.stringify({ type: "session.started", sessionId: String(active), input: format, output: format }))
    }
  })
  ws.on("close", () => {
    active--
    for (const timer of timers) clearTimeout(timer)
  })
})

http.listen(config.port, "127.0.0.1", () => console.log(`Listening on ${config.port}`))

// The load generator, run in its own process: `node bench/loadgen.ts '<LoadgenConfig json>'`.
// One timer paces every session in 20 ms slots (catching up on missed slots, whose lag it records); it prints
// `MEASURE_START` and `MEASURE_END` around the measured window and one `RESULT {json}` line at the end.
// Only loopback URLs are accepted; the run stops by itself at `deadlineMs`.
import { SignJWT } from "jose"
import { FrameMs } from "./lib/audio.ts"
import type { LoadgenConfig, LoadgenResult } from "./lib/loadgenTypes.ts"
import { percentile, round } from "./lib/stats.ts"
import { BenchSession, currentSlot } from "./loadgen/BenchSession.ts"
import { Metrics } from "./loadgen/Metrics.ts"

const config = JSON.parse(process.argv[2] ?? "{}") as LoadgenConfig
const host = new URL(config.url).hostname
if (!["127.0.0.1", "localhost", "[::1]", "::1"].includes(host)) {
  console.error(`loadgen: refusing non-loopback target ${host}`)
  process.exit(2)
}

const key = new TextEncoder().encode(config.secret)
const now = Math.floor(Date.now() / 1000)
const tokens = await Promise.all(
  Array.from({ length: config.sessions }, (_, i) =>
    new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(`bench-${i}`)
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      .sign(key)
  )
)

const metrics = new Metrics()
const sessions: Array<BenchSession> = []
const t0 = performance.now()
const openInterval = config.mode === "stream" ? config.rampMs / config.sessions : 1000 / config.ratePerSec
const windowStart = config.rampMs + config.turnPeriodMs
const windowEnd = windowStart + config.measureMs
let finished = false

const say = (line: string) => process.stdout.write(`${line}\n`)

/** Stream mode: the measured window opens and closes on slot boundaries. */
const streamPhase = (elapsed: number) => {
  if (!metrics.measuring && elapsed >= windowStart && elapsed < windowEnd) {
    metrics.measuring = true
    say("MEASURE_START")
  } else if (metrics.measuring && elapsed >= windowEnd) {
    metrics.measuring = false
    say(`MEASURE_END ${metrics.framesSentInWindow}`)
  }
  return elapsed >= windowEnd + config.holdMs
}

/** Churn mode: a session leaves after its frames, every other one without a close handshake. */
const churnStep = () => {
  for (const session of sessions) {
    if (!session.leaving && session.started && session.sent >= config.churnFrames)
      session.leave(session.index % 2 === 0)
  }
  return sessions.length === config.sessions && sessions.every((s) => s.closed || (s.leaving && !s.started))
}

/** Connect mode: a session leaves as soon as it has started. */
const connectStep = () => {
  for (const session of sessions) if (!session.leaving && session.started) session.leave(true)
  return sessions.length === config.sessions && sessions.every((s) => s.closed)
}

const tick = (slot: number, at: number) => {
  currentSlot.value = slot
  const elapsed = at - t0
  while (sessions.length < config.sessions && sessions.length * openInterval <= elapsed) {
    sessions.push(new BenchSession(sessions.length, tokens[sessions.length]!, config, metrics))
  }
  if (config.mode === "connect") return
  for (const session of sessions) session.tick(slot)
}

const finish = async () => {
  finished = true
  const end = performance.now()
  const unanswered = sessions.reduce((n, s) => n + s.unanswered(end), 0)
  for (const session of sessions) if (!session.closed && !session.leaving) session.leave(true)
  const closeBy = performance.now() + 3000
  while (sessions.some((s) => !s.closed) && performance.now() < closeBy) await new Promise((r) => setTimeout(r, 50))
  const lag = {
    p50: percentile(metrics.lagMs, 50),
    p99: percentile(metrics.lagMs, 99),
    max: Math.max(0, ...metrics.lagMs)
  }
  const result: LoadgenResult = {
    mode: config.mode,
    sessions: config.sessions,
    opened: metrics.startedMs.length,
    connectErrors: metrics.connectErrors,
    connectMs: metrics.connectMs,
    startedMs: metrics.startedMs,
    firstAudioMs: metrics.firstAudioMs,
    pongMs: metrics.pongMs,
    pingsUnanswered: unanswered,
    turnsDone: metrics.turnsDone,
    turnsCancelled: metrics.turnsCancelled,
    cancelsSent: metrics.cancelsSent,
    cancelMs: metrics.cancelMs,
    turnsMissingAudio: metrics.turnsMissingAudio,
    lostBytes: metrics.lostBytes,
    lostTurns: metrics.lostTurns,
    framesSent: metrics.framesSent,
    framesSentInWindow: metrics.framesSentInWindow,
    errorEvents: metrics.errorEvents,
    unexpectedCloses: metrics.unexpectedCloses,
    lagMs: { p50: round(lag.p50, 2) ?? 0, p99: round(lag.p99, 2) ?? 0, max: round(lag.max, 2) ?? 0 },
    valid: Number.isFinite(lag.p99) && lag.p99 <= 10,
    recorded: metrics.recorded,
    stages: metrics.stages,
    audioDoneBytes: metrics.audioDoneBytes,
    durationMs: Math.round(end - t0)
  }
  // Exit once the line is flushed: stdout is a socket to the orchestrator, and exiting at once cut results over
  // ~150 KB (e.g. the pong times of 800 sessions), which then never arrived.
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`, () => process.exit(0))
  setTimeout(() => process.exit(0), 10_000) // bounded even if the orchestrator stops reading
}

let slot = 0
const loop = () => {
  if (finished) return
  const at = performance.now()
  // Every slot due by now runs (catching up if the timer was late); its lateness is the generator's send lag.
  while (t0 + slot * FrameMs <= at) {
    const lag = at - (t0 + slot * FrameMs)
    if (config.mode !== "stream" || metrics.measuring) metrics.lagMs.push(lag)
    tick(slot, at)
    slot++
  }
  const elapsed = at - t0
  const done = config.mode === "stream" ? streamPhase(elapsed) : config.mode === "churn" ? churnStep() : connectStep()
  if (done || elapsed > config.deadlineMs) {
    void finish()
    return
  }
  setTimeout(loop, Math.max(0, t0 + slot * FrameMs - performance.now()))
}
loop()

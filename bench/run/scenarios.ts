// The benchmark's measurements, each against one target (server or baseline): a streaming step at N sessions, a leak
// round of connect/stream/disconnect sessions, and a paced connect burst. Every loop is bounded in count and time.
import { FrameMs } from "../lib/audio.ts"
import { CriticalPathMs, MockDelays } from "../lib/criticalPath.ts"
import type { LoadgenConfig, LoadgenResult } from "../lib/loadgenTypes.ts"
import { toSchedule } from "../lib/schedule.ts"
import { percentile, round, summary } from "../lib/stats.ts"
import { freePort, type Memory, runLoadgen, startTarget, type Target, type TargetStalls } from "./proc.ts"

export interface Timing {
  readonly rampMs: number
  readonly measureMs: number
  readonly holdMs: number
  readonly turnPeriodMs: number
  readonly speechMs: number
  /** Every `cancelEvery`-th measured turn of a session is cancelled at its first audio (LoadgenConfig). */
  readonly cancelEvery?: number
}

const base = (target: Target, secret: string): Omit<LoadgenConfig, "mode" | "sessions"> => ({
  url: target.url,
  secret,
  rampMs: 1000,
  ratePerSec: 100,
  measureMs: 0,
  holdMs: 0,
  turnPeriodMs: 5000,
  speechMs: 1200,
  endpointSilenceMs: MockDelays.endpointSilenceMs,
  churnFrames: 25,
  record: false,
  deadlineMs: 60_000
})

export interface StepResult {
  readonly target: Target["name"]
  readonly sessions: number
  readonly pass: boolean
  /** False when the generator's own send lag (p99 > 10 ms) makes the step say nothing about the target. */
  readonly generatorValid: boolean
  readonly why: ReadonlyArray<string>
  readonly pongMs: ReturnType<typeof summary>
  readonly firstAudioOverheadMs: ReturnType<typeof summary>
  readonly turns: number
  readonly lostBytes: number
  readonly turnsMissingAudio: number
  readonly generatorLagMs: LoadgenResult["lagMs"]
  readonly cpuUsPerFrame: number | null
  readonly cpuPct: number | null
  readonly rssPerSessionKB: number | null
  readonly heapPerSessionKB: number | null
  readonly idle: Memory
  readonly loaded: Memory | null
  /**
   * The target's own event-loop stalls and long GC pauses from the reading before the step to the one after it
   * (ramp, window and hold): a step failed on pong p99 with none of them was held up by the machine, not the target.
   */
  readonly targetStalls: TargetStalls | null
  readonly errors: Readonly<Record<string, number>>
  /** The server's own latency breakdown of the measured turns (response.done), p50/p99 per stage. */
  readonly stagesMs: Readonly<Record<string, ReturnType<typeof summary>>>
  /** With `cancelEvery`: cancels sent, and from each `response.cancel` to its `response.cancelled`. */
  readonly cancelsSent: number
  readonly cancelMs: ReturnType<typeof summary>
}

/** N sessions streaming real-time turns; CPU over the window, memory after forced GC at its end. */
export const streamStep = async (target: Target, secret: string, n: number, timing: Timing): Promise<StepResult> => {
  const idle = await target.gc()
  let cpuStart = 0
  let cpuEnd = 0
  let windowStart = 0
  let windowMs = 0
  let loaded: Memory | null = null
  let framesInWindow = 0
  let pending: Promise<void> = Promise.resolve()
  const config: LoadgenConfig = {
    ...base(target, secret),
    ...timing,
    mode: "stream",
    sessions: n,
    deadlineMs: timing.rampMs + timing.turnPeriodMs + timing.measureMs + timing.holdMs + 20_000
  }
  const result = await runLoadgen(config, (line) => {
    if (line === "MEASURE_START") {
      cpuStart = target.cpuMs()
      windowStart = performance.now()
    } else if (line.startsWith("MEASURE_END")) {
      cpuEnd = target.cpuMs()
      windowMs = performance.now() - windowStart
      framesInWindow = Number(line.split(" ")[1])
      // The forced GC (two full collections, ~100 ms each) stops the target: wait until the turns that ended in the
      // window have had their first audio, or the pause would land in their latency. The sessions are still open
      // (the generator holds them for holdMs after the window).
      const settleMs = Math.min(timing.holdMs - 100, CriticalPathMs + 400)
      pending = new Promise((resolve) => setTimeout(resolve, settleMs)).then(() =>
        target.gc().then((m) => {
          loaded = m
        })
      )
    }
  })
  await pending
  const overhead = result.firstAudioMs.map((ms) => ms - CriticalPathMs)
  const pong = summary(result.pongMs)
  const why: Array<string> = []
  if (!result.valid) why.push(`generator lag p99 ${result.lagMs.p99} ms`)
  if (!(percentile(result.pongMs, 99) < 50)) why.push(`pong p99 ${pong.p99} ms`)
  if (result.lostBytes > 0 || result.turnsMissingAudio > 0) why.push("lost audio")
  if (result.opened < n || result.connectErrors > 0) why.push(`${result.opened}/${n} sessions started`)
  if (result.unexpectedCloses > 0) why.push(`${result.unexpectedCloses} unexpected closes`)
  const mem = loaded as Memory | null
  const perSession = (key: "rss" | "heapUsed") => (mem === null ? null : round((mem[key] - idle[key]) / n / 1024, 1))
  return {
    target: target.name,
    sessions: n,
    pass: why.length === 0,
    generatorValid: result.valid,
    why,
    pongMs: pong,
    firstAudioOverheadMs: summary(overhead),
    turns: result.firstAudioMs.length,
    lostBytes: result.lostBytes,
    turnsMissingAudio: result.turnsMissingAudio,
    generatorLagMs: result.lagMs,
    cpuUsPerFrame: framesInWindow > 0 ? round(((cpuEnd - cpuStart) * 1000) / framesInWindow, 1) : null,
    cpuPct: windowMs > 0 ? round(((cpuEnd - cpuStart) / windowMs) * 100, 1) : null,
    rssPerSessionKB: perSession("rss"),
    heapPerSessionKB: perSession("heapUsed"),
    idle,
    loaded: mem,
    targetStalls: mem?.stalls ?? null,
    errors: result.errorEvents,
    stagesMs: Object.fromEntries(Object.entries(result.stages).map(([k, v]) => [k, summary(v)])),
    cancelsSent: result.cancelsSent,
    cancelMs: summary(result.cancelMs)
  }
}

/** One session over two turn periods (one turn always ends in the window): the baseline replays its first reply. */
export const calibrate = async (target: Target, secret: string) => {
  const result = await runLoadgen({
    ...base(target, secret),
    mode: "stream",
    sessions: 1,
    rampMs: FrameMs,
    measureMs: 6500,
    holdMs: 200,
    record: true,
    deadlineMs: 30_000
  })
  return result
}

/**
 * The raw `ws` baseline (bench/baseline.ts) on a free port, set to replay the reply the server gave in a calibration
 * turn (same frame sizes and bursts) after the same critical path.
 */
export const startCalibratedBaseline = async (server: Target, secret: string) => {
  const calibration = await calibrate(server, secret)
  const schedule = toSchedule(calibration.recorded)
  if (schedule.length === 0) {
    throw new Error(
      `calibration: the server's turn gave no reply audio (errors ${JSON.stringify(calibration.errorEvents)})`
    )
  }
  const port = await freePort()
  const config = {
    port,
    secret,
    schedule,
    endpointSilenceMs: MockDelays.endpointSilenceMs,
    threshold: MockDelays.speechThreshold
  }
  const baseline = await startTarget("baseline", "bench/baseline.ts", [JSON.stringify(config)], {}, port)
  return { baseline, calibration, schedule }
}

export interface LeakRound {
  readonly round: number
  readonly sessions: number
  readonly started: number
  readonly activeAfter: number
  readonly settleMs: number
  readonly memory: Memory
}

/** One leak round: `sessions` connect, start, stream, then leave (even ones cleanly, odd ones by dropping). */
export const leakRound = async (
  target: Target,
  secret: string,
  round: number,
  sessions: number,
  ratePerSec: number
) => {
  const result = await runLoadgen({
    ...base(target, secret),
    mode: "churn",
    sessions,
    ratePerSec,
    churnFrames: 25,
    deadlineMs: (sessions / ratePerSec) * 1000 + 30_000
  })
  const began = performance.now()
  let active = await target.activeSessions()
  while (active > 0 && performance.now() - began < 30_000) {
    await new Promise((r) => setTimeout(r, 100))
    active = await target.activeSessions()
  }
  const settleMs = Math.round(performance.now() - began)
  const memory = await target.gc()
  return { round, sessions, started: result.opened, activeAfter: active, settleMs, memory } satisfies LeakRound
}

/** `count` connects at `ratePerSec`: upgrade (JWT + admission) latency and time to `session.started`. */
export const connectBurst = async (target: Target, secret: string, count: number, ratePerSec: number) => {
  const result = await runLoadgen({
    ...base(target, secret),
    mode: "connect",
    sessions: count,
    ratePerSec,
    deadlineMs: (count / ratePerSec) * 1000 + 20_000
  })
  return {
    target: target.name,
    count,
    ratePerSec,
    errors: result.connectErrors,
    connectMs: summary(result.connectMs),
    startedMs: summary(result.startedMs),
    generatorLagMs: result.lagMs
  }
}

/** One line for a step's target stalls (logs and bench/point.ts). */
export const describeStalls = (stalls: TargetStalls | null) =>
  stalls === null
    ? "not counted"
    : `${stalls.loopOver50Ms} event-loop ticks over 50 ms late (worst ${stalls.loopMaxLateMs} ms), ` +
      `${stalls.gcOver20Ms} GC pauses over 20 ms (longest ${stalls.gcMaxMs} ms, ${stalls.gcTotalMs} ms in all)`

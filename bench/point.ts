// One streaming point against the server alone, for iterating on a change: `node bench/point.ts <N> [seconds]`.
// Same server set-up and generator as `npm run bench` (core 0 / core 1), prints pong and overhead percentiles, CPU per
// frame and the server's own stage latencies. BENCH_CPU_PROF=<dir> writes the server's CPU profile there.
// BENCH_BASELINE=<rounds 1..5>: the raw `ws` baseline too, calibrated on the server's reply as in `npm run bench`, and
// the point measured on both, alternating, that many times each (for side-by-side costs, e.g. with BENCH_SPEECH_MS=0).
// BENCH_CANCEL_EVERY=<k>: every k-th measured turn of a session is cancelled at its first audio, and the time from
// `response.cancel` to `response.cancelled` is printed (barge-in latency).
import { randomBytes } from "node:crypto"
import { startServerUnderTest, type Target } from "./run/proc.ts"
import { connectBurst, describeStalls, startCalibratedBaseline, streamStep } from "./run/scenarios.ts"

const sessions = Number(process.argv[2] ?? 100)
const seconds = Number(process.argv[3] ?? 8)
const baselineRounds = Number(process.env.BENCH_BASELINE ?? 0)
// BENCH_CANCEL_EVERY=<k>: every k-th measured turn of a session is cancelled as its first audio arrives (barge-in).
const cancelEvery = Number(process.env.BENCH_CANCEL_EVERY ?? 0)
if (
  !Number.isInteger(sessions) ||
  sessions < 1 ||
  sessions > 5000 ||
  !(seconds > 0 && seconds <= 120) ||
  !Number.isInteger(baselineRounds) ||
  baselineRounds < 0 ||
  baselineRounds > 5 ||
  !Number.isInteger(cancelEvery) ||
  cancelEvery < 0
) {
  console.error(
    "usage: [BENCH_BASELINE=0..5] [BENCH_CANCEL_EVERY=k] node bench/point.ts <sessions 1..5000> [measure seconds 1..120]"
  )
  process.exit(2)
}
const secret = randomBytes(32).toString("hex")
const server = await startServerUnderTest(secret, {}, process.env.BENCH_SERVER_DIR)
let baseline: Target | undefined
try {
  // BENCH_CONNECTS=<n>: also three bursts of n connects at 100/s (connect + JWT + admission latency), before streaming.
  const connects = Number(process.env.BENCH_CONNECTS ?? 0)
  for (let burst = 1; connects > 0 && burst <= 3; burst++) {
    const result = await connectBurst(server, secret, connects, 100)
    console.log(
      `connect burst ${burst}: upgrade p50/p99 ${result.connectMs.p50}/${result.connectMs.p99} ms, started p99 ${result.startedMs.p99} ms, errors ${result.errors}`
    )
  }
  const measure = async (target: Target) => {
    const step = await streamStep(target, secret, sessions, {
      rampMs: 1500,
      measureMs: seconds * 1000,
      holdMs: 1500,
      turnPeriodMs: 5000,
      // BENCH_SPEECH_MS=0: silence only (no turns), to separate the cost of incoming audio from that of replies.
      speechMs: Number(process.env.BENCH_SPEECH_MS ?? 1200),
      cancelEvery
    })
    const stages = Object.entries(step.stagesMs)
      .map(([k, v]) => `${k} ${v.p50}/${v.p99}`)
      .join(", ")
    console.log(
      `${target.name} N=${sessions} ${step.pass ? "pass" : `FAIL (${step.why.join("; ")})`}\n` +
        `  pong p50/p99 ${step.pongMs.p50}/${step.pongMs.p99} ms; overhead p50/p99 ${step.firstAudioOverheadMs.p50}/${step.firstAudioOverheadMs.p99} ms (${step.turns} turns)\n` +
        `  cpu ${step.cpuUsPerFrame} µs/frame (${step.cpuPct} % of a core); heap ${step.heapPerSessionKB} KB/session; rss ${step.rssPerSessionKB} KB/session; generator lag p99 ${step.generatorLagMs.p99} ms\n` +
        `  target stalls: ${describeStalls(step.targetStalls)}\n` +
        (stages === "" ? "" : `  server stages p50/p99 ms: ${stages}\n`) +
        (cancelEvery === 0
          ? ""
          : `  cancel → response.cancelled p50/p99 ${step.cancelMs.p50}/${step.cancelMs.p99} ms (${step.cancelMs.count} answered of ${step.cancelsSent} sent)\n`) +
        `  errors ${JSON.stringify(step.errors)}`
    )
  }
  if (baselineRounds === 0) {
    await measure(server)
  } else {
    const started = await startCalibratedBaseline(server, secret)
    baseline = started.baseline
    console.log(
      `calibration: first audio ${started.calibration.firstAudioMs.map((x) => x.toFixed(1)).join(", ")} ms; ${started.schedule.length} bursts`
    )
    for (let round = 1; round <= baselineRounds; round++) {
      for (const target of round % 2 === 1 ? [server, baseline] : [baseline, server]) await measure(target)
    }
  }
} finally {
  await baseline?.stop()
  await server.stop()
}

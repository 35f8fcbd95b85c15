// The benchmark: `npm run bench:quick` / `npm run bench`. Starts the server under test (node src/main.ts with mock
// providers on a realistic critical path) and the raw `ws` baseline, both on core 0, and drives them from a load
// generator on core 1, alternating between the two at every point. Writes bench/results/<plan>-<time>.json and the
// table in docs/benchmarks.md. Loopback only; every loop is bounded.
import { spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { CriticalPathMs, databaseName, MockDelays } from "./lib/criticalPath.ts"
import { round, slope } from "./lib/stats.ts"
import { Plans } from "./run/plan.ts"
import { pinning, Root, startCommandFlags, startServerUnderTest, type Target } from "./run/proc.ts"
import { machine, table, writeDocs } from "./run/report.ts"
import {
  connectBurst,
  describeStalls,
  type LeakRound,
  leakRound,
  type StepResult,
  startCalibratedBaseline,
  streamStep
} from "./run/scenarios.ts"

const plan = Plans[process.argv.includes("--quick") ? "quick" : "full"]
const began = Date.now()
const secret = randomBytes(32).toString("hex")
const log = (text: string) => console.log(`[${((Date.now() - began) / 1000).toFixed(0).padStart(4)} s] ${text}`)
// BENCH_SERVER_DIR: benchmark the server of another checkout (e.g. `git archive HEAD`), default this one.
const serverDir = process.env.BENCH_SERVER_DIR ?? Root

log(
  `plan ${plan.name}; ${pinning}; database ${databaseName()}; critical path ${CriticalPathMs.toFixed(0)} ms; server in ${serverDir} (${startCommandFlags(serverDir).join(" ") || "no Node flags"})`
)
const server = await startServerUnderTest(secret, {}, serverDir)
let baseline: Target | undefined
try {
  const started = await startCalibratedBaseline(server, secret)
  baseline = started.baseline
  const { calibration, schedule } = started
  const replyBytes = schedule.reduce((n, b) => n + b.frameBytes.reduce((m, x) => m + x, 0), 0)
  log(
    `calibration: first audio ${calibration.firstAudioMs.map((x) => x.toFixed(1)).join(", ")} ms; ` +
      `${schedule.length} bursts, ${replyBytes} bytes per reply`
  )
  const targets = { server, baseline }

  const steps: Array<StepResult> = []
  const failed = new Set<string>()
  /** Targets whose sweep ended because the generator, not the target, fell behind: their capacity is a floor. */
  const generatorBound: Array<string> = []
  for (const [i, n] of plan.steps.entries()) {
    const order = i % 2 === 0 ? [server, baseline] : [baseline, server]
    for (const target of order) {
      if (failed.has(target.name)) continue
      let step = await streamStep(target, secret, n, plan.timing)
      if (!step.generatorValid && plan.retryInvalid) {
        log(`${target.name} N=${n}: generator fell behind (lag p99 ${step.generatorLagMs.p99} ms), measuring again`)
        step = await streamStep(target, secret, n, plan.timing)
      }
      steps.push(step)
      log(
        `${target.name.padEnd(8)} N=${String(n).padStart(4)} ${step.pass ? "pass" : `FAIL (${step.why.join("; ")})`} ` +
          `pong p99 ${step.pongMs.p99} ms, overhead p50/p99 ${step.firstAudioOverheadMs.p50}/${step.firstAudioOverheadMs.p99} ms, ` +
          `cpu ${step.cpuUsPerFrame} µs/frame (${step.cpuPct} %), rss ${step.rssPerSessionKB} KB/session, lag p99 ${step.generatorLagMs.p99} ms, ` +
          `target stalls ${describeStalls(step.targetStalls)}`
      )
      if (!step.pass) failed.add(target.name)
      if (!step.pass && !step.generatorValid) generatorBound.push(target.name)
    }
  }
  const capacity = (name: string) =>
    Math.max(0, ...steps.filter((s) => s.target === name && s.pass).map((s) => s.sessions))
  const capServer = capacity("server")
  const capBaseline = capacity("baseline")

  const half: Array<StepResult> = []
  const halfN = Math.max(10, Math.floor(capServer / 2 / 10) * 10)
  if (plan.halfCapacityStep) {
    for (const target of [server, baseline]) half.push(await streamStep(target, secret, halfN, plan.halfTiming))
  } else {
    const below = plan.steps.filter((n) => n <= Math.max(capServer / 2, plan.steps[0]!))
    const nearest = below[below.length - 1]!
    half.push(...steps.filter((s) => s.sessions === nearest))
  }
  for (const s of half) {
    const stages = Object.entries(s.stagesMs)
      .map(([k, v]) => `${k} ${v.p50}/${v.p99}`)
      .join(", ")
    log(
      `half capacity ${s.target} N=${s.sessions}: overhead p50/p99 ${s.firstAudioOverheadMs.p50}/${s.firstAudioOverheadMs.p99} ms` +
        (stages === "" ? "" : `; server's own stages p50/p99 ms: ${stages}`)
    )
  }

  const leak: Array<LeakRound> = []
  for (let r = 1; r <= plan.leakRounds; r++) {
    const round_ = await leakRound(server, secret, r, plan.leakSessions, plan.leakRate)
    leak.push(round_)
    log(
      `leak round ${r}: ${round_.started}/${round_.sessions} started, active after ${round_.activeAfter} ` +
        `(${round_.settleMs} ms), heap ${(round_.memory.heapUsed / 1048576).toFixed(2)} MB, ` +
        `rss ${(round_.memory.rss / 1048576).toFixed(1)} MB, handles ${round_.memory.handles}`
    )
  }
  const laterRounds = leak.filter((r) => r.round >= 2)
  const heapGrowthPerSession = round(
    slope(laterRounds.map((r) => [r.round * r.sessions, r.memory.heapUsed] as const)),
    1
  )
  const rssGrowthPerSession = round(slope(laterRounds.map((r) => [r.round * r.sessions, r.memory.rss] as const)), 1)
  log(`leak: heap growth ${heapGrowthPerSession} B/session, rss growth ${rssGrowthPerSession} B/session (rounds 2..n)`)

  const connects = []
  for (const target of [baseline, server, baseline, server, baseline, server]) {
    const burst = await connectBurst(target, secret, Math.round(plan.connects / 3), 100)
    connects.push(burst)
    log(
      `connect ${target.name}: upgrade p50/p99 ${burst.connectMs.p50}/${burst.connectMs.p99} ms, ` +
        `started p99 ${burst.startedMs.p99} ms, errors ${burst.errors}`
    )
  }

  const result = {
    plan: plan.name,
    command: plan.name === "quick" ? "npm run bench:quick" : "npm run bench",
    date: new Date().toISOString(),
    machine: machine(),
    pinning,
    database: databaseName(),
    serverDir,
    serverNodeFlags: startCommandFlags(serverDir),
    criticalPathMs: CriticalPathMs,
    mockDelays: MockDelays,
    timing: plan.timing,
    calibration: { firstAudioMs: calibration.firstAudioMs, replyBytes, bursts: schedule.length },
    capacity: { server: capServer, baseline: capBaseline, maxStep: Math.max(...plan.steps), generatorBound },
    steps,
    half,
    leak: { rounds: leak, heapGrowthPerSession, rssGrowthPerSession },
    connects,
    durationS: Math.round((Date.now() - began) / 1000),
    targets: Object.keys(targets)
  }
  mkdirSync(join(Root, "bench/results"), { recursive: true })
  const file = join(Root, `bench/results/${plan.name}-${result.date.replace(/[:.]/g, "-")}.json`)
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`)
  // `biome check .` covers bench/**: leave the result formatted the way it wants.
  spawnSync(join(Root, "node_modules/.bin/biome"), ["format", "--write", file], { stdio: "ignore" })
  // BENCH_NO_DOCS=1: keep docs/benchmarks.md as it is (e.g. when measuring another checkout for comparison).
  if (process.env.BENCH_NO_DOCS === undefined) writeDocs(result)
  // The figures, each beside the baseline's and their ratio, as written to docs/benchmarks.md.
  console.log(`\n${table(result)}\n`)
  log(
    `wrote ${file}${process.env.BENCH_NO_DOCS === undefined ? " and docs/benchmarks.md" : ""} (${result.durationS} s)`
  )
} finally {
  await baseline?.stop()
  await server.stop()
}

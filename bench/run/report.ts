// The benchmark's report: the machine it ran on, and the table in docs/benchmarks.md (between the markers of the
// plan that ran), each figure with the baseline beside it, their ratio and the issue's target.
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { cpus } from "node:os"
import { join } from "node:path"
import { median, round, slope } from "../lib/stats.ts"
import { Root } from "./proc.ts"
import type { LeakRound, StepResult } from "./scenarios.ts"

export const machine = () => {
  const cpuinfo = existsSync("/proc/cpuinfo") ? readFileSync("/proc/cpuinfo", "utf8") : ""
  return {
    nproc: cpus().length,
    cpu: /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1]?.trim() ?? cpus()[0]?.model ?? "unknown",
    node: process.version
  }
}

interface ConnectBurst {
  readonly target: string
  readonly connectMs: { readonly p99: number | null }
  readonly errors: number
}

export interface ResultForDocs {
  readonly plan: string
  readonly command: string
  readonly date: string
  readonly machine: ReturnType<typeof machine>
  readonly pinning: string
  /** Absent in results written before it was recorded (always the embedded database then). */
  readonly database?: string
  /** The server's Node flags from its `npm start`; absent in results written before they were. */
  readonly serverNodeFlags?: ReadonlyArray<string>
  readonly criticalPathMs: number
  readonly capacity: {
    readonly server: number
    readonly baseline: number
    readonly maxStep: number
    readonly generatorBound: ReadonlyArray<string>
  }
  readonly steps: ReadonlyArray<StepResult>
  readonly half: ReadonlyArray<StepResult>
  readonly leak: {
    readonly rounds: ReadonlyArray<LeakRound>
    readonly heapGrowthPerSession: number | null
    readonly rssGrowthPerSession: number | null
  }
  readonly connects: ReadonlyArray<ConnectBurst>
  readonly durationS: number
}

const fmt = (value: number | null | undefined, unit = "") =>
  value === null || value === undefined || Number.isNaN(value) ? "n/a" : `${value}${unit}`
const ratio = (a: number | null | undefined, b: number | null | undefined) =>
  a === null || a === undefined || b === null || b === undefined || b === 0 ? "n/a" : `${(a / b).toFixed(2)}×`
const verdict = (ok: boolean | null) => (ok === null ? "n/a" : ok ? "met" : "**missed**")

/** The largest step both targets passed (else the smallest step), for side-by-side per-frame figures. */
const commonStep = (steps: ReadonlyArray<StepResult>) => {
  const passed = (name: string) => new Set(steps.filter((s) => s.target === name && s.pass).map((s) => s.sessions))
  const both = [...passed("server")].filter((n) => passed("baseline").has(n))
  const n = both.length > 0 ? Math.max(...both) : Math.min(...steps.map((s) => s.sessions))
  const at = (name: string) => steps.find((s) => s.target === name && s.sessions === n)
  return { n, server: at("server"), baseline: at("baseline") }
}

/** Bytes per active session from the sweep: slope of RSS or heap (after forced GC, loaded) over N, in KB. */
const perSession = (steps: ReadonlyArray<StepResult>, name: string, key: "rss" | "heapUsed") =>
  round(
    slope(
      steps.filter((s) => s.target === name && s.loaded !== null).map((s) => [s.sessions, s.loaded![key]] as const)
    ) / 1024,
    1
  )

export const table = (r: ResultForDocs): string => {
  const cap = (n: number, name: string) =>
    n >= r.capacity.maxStep
      ? `≥ ${n}`
      : r.capacity.generatorBound.includes(name)
        ? `≥ ${n} (generator-bound)`
        : String(n)
  const common = commonStep(r.steps)
  const hs = r.half.find((s) => s.target === "server")
  // The quick plan has no step of its own there: it reports the sweep point nearest below half capacity.
  const halfNote = r.plan === "quick" ? ", the sweep point nearest half capacity" : ""
  const hb = r.half.find((s) => s.target === "baseline")
  const connectP99 = (name: string) =>
    median(r.connects.filter((c) => c.target === name).map((c) => c.connectMs.p99 ?? Number.NaN))
  const cs = round(connectP99("server"), 2)
  const cb = round(connectP99("baseline"), 2)
  const lastActive = Math.max(0, ...r.leak.rounds.map((x) => x.activeAfter))
  const capRatio = r.capacity.baseline > 0 ? r.capacity.server / r.capacity.baseline : null
  const rows = [
    [
      "Capacity: sessions with pong p99 < 50 ms, no lost audio, valid generator",
      cap(r.capacity.server, "server"),
      cap(r.capacity.baseline, "baseline"),
      ratio(r.capacity.server, r.capacity.baseline),
      "≥ 0.80× baseline",
      // When the baseline's figure is only a floor, a ratio at or above the target says nothing.
      r.capacity.baseline >= r.capacity.maxStep && capRatio !== null && capRatio >= 0.8
        ? "not measured (both pass this plan's largest point; see the full run)"
        : verdict(capRatio === null ? null : capRatio >= 0.8)
    ],
    [
      `Server CPU per audio frame (N=${common.n})`,
      fmt(common.server?.cpuUsPerFrame, " µs"),
      fmt(common.baseline?.cpuUsPerFrame, " µs"),
      ratio(common.server?.cpuUsPerFrame, common.baseline?.cpuUsPerFrame),
      "—",
      "—"
    ],
    [
      `Core use (N=${common.n})`,
      fmt(common.server?.cpuPct, " %"),
      fmt(common.baseline?.cpuPct, " %"),
      ratio(common.server?.cpuPct, common.baseline?.cpuPct),
      "—",
      "—"
    ],
    [
      `Pong RTT p99 (N=${common.n})`,
      fmt(common.server?.pongMs.p99, " ms"),
      fmt(common.baseline?.pongMs.p99, " ms"),
      ratio(common.server?.pongMs.p99, common.baseline?.pongMs.p99),
      "< 50 ms",
      verdict(common.server?.pongMs.p99 == null ? null : common.server.pongMs.p99 < 50)
    ],
    [
      `First-audio overhead p50 at half capacity (N=${hs?.sessions ?? "n/a"}${halfNote})`,
      fmt(hs?.firstAudioOverheadMs.p50, " ms"),
      fmt(hb?.firstAudioOverheadMs.p50, " ms"),
      "—",
      "≤ 10 ms",
      verdict(hs?.firstAudioOverheadMs.p50 == null ? null : hs.firstAudioOverheadMs.p50 <= 10)
    ],
    [
      `First-audio overhead p99 at half capacity (N=${hs?.sessions ?? "n/a"}${halfNote})`,
      fmt(hs?.firstAudioOverheadMs.p99, " ms"),
      fmt(hb?.firstAudioOverheadMs.p99, " ms"),
      "—",
      "≤ 30 ms",
      verdict(hs?.firstAudioOverheadMs.p99 == null ? null : hs.firstAudioOverheadMs.p99 <= 30)
    ],
    [
      `Server's own firstAudioMs (response.done) p50 / p99 at half capacity, path ${r.criticalPathMs.toFixed(0)} ms`,
      `${fmt(hs?.stagesMs.firstAudioMs?.p50, " ms")} / ${fmt(hs?.stagesMs.firstAudioMs?.p99, " ms")}`,
      "—",
      "—",
      "—",
      "—"
    ],
    [
      "RSS per active session: slope of RSS (after forced GC) over the sweep's N",
      fmt(perSession(r.steps, "server", "rss"), " KB"),
      fmt(perSession(r.steps, "baseline", "rss"), " KB"),
      ratio(perSession(r.steps, "server", "rss"), perSession(r.steps, "baseline", "rss")),
      "≤ 250 KB",
      verdict(
        Number.isFinite(perSession(r.steps, "server", "rss") ?? Number.NaN)
          ? perSession(r.steps, "server", "rss")! <= 250
          : null
      )
    ],
    [
      "Heap per active session: slope of heap after forced GC over the sweep's N",
      fmt(perSession(r.steps, "server", "heapUsed"), " KB"),
      fmt(perSession(r.steps, "baseline", "heapUsed"), " KB"),
      ratio(perSession(r.steps, "server", "heapUsed"), perSession(r.steps, "baseline", "heapUsed")),
      "—",
      "—"
    ],
    [
      `RSS per active session above idle just before the step (N=${common.n})`,
      fmt(common.server?.rssPerSessionKB, " KB"),
      fmt(common.baseline?.rssPerSessionKB, " KB"),
      ratio(common.server?.rssPerSessionKB, common.baseline?.rssPerSessionKB),
      "(noisy at small N)",
      "—"
    ],
    [
      `Heap per active session after forced GC (N=${common.n})`,
      fmt(common.server?.heapPerSessionKB, " KB"),
      fmt(common.baseline?.heapPerSessionKB, " KB"),
      ratio(common.server?.heapPerSessionKB, common.baseline?.heapPerSessionKB),
      "—",
      "—"
    ],
    [
      `Heap growth after GC, rounds 2..${r.leak.rounds.length} of ${r.leak.rounds[0]?.sessions ?? 0} sessions`,
      fmt(r.leak.heapGrowthPerSession, " B/session"),
      "—",
      "—",
      "< 200 B/session",
      verdict(r.leak.heapGrowthPerSession === null ? null : r.leak.heapGrowthPerSession < 200)
    ],
    ["Live sessions after each leak round (max)", String(lastActive), "—", "—", "0", verdict(lastActive === 0)],
    [
      "Connect + JWT + admission p99 at 100 connects/s (median of runs)",
      fmt(cs, " ms"),
      fmt(cb, " ms"),
      ratio(cs, cb),
      "≤ 10 ms",
      verdict(cs === null ? null : cs <= 10)
    ]
  ]
  /** "loop stalls / long GCs (longest GC ms)", or — for a target whose gcHook.ts does not count them. */
  const stallsOf = (s: StepResult) =>
    s.targetStalls === null || s.targetStalls === undefined
      ? "—"
      : `${s.targetStalls.loopOver50Ms} / ${s.targetStalls.gcOver20Ms} (${fmt(s.targetStalls.gcMaxMs)} ms)`
  const sweep = r.steps.map(
    (s) =>
      `| ${s.target} | ${s.sessions} | ${s.pass ? "pass" : `fail: ${s.why.join("; ")}`} | ${fmt(s.pongMs.p50)} / ${fmt(s.pongMs.p99)} | ${fmt(s.firstAudioOverheadMs.p50)} / ${fmt(s.firstAudioOverheadMs.p99)} | ${fmt(s.cpuUsPerFrame)} | ${fmt(s.cpuPct)} | ${fmt(s.rssPerSessionKB)} | ${fmt(s.heapPerSessionKB)} | ${stallsOf(s)} | ${s.generatorLagMs.p99} |`
  )
  return [
    `Command \`${r.command}\` · ${r.date} · ${r.machine.nproc} cores, ${r.machine.cpu} · Node ${r.machine.node} · ${r.pinning} · database: ${r.database ?? "embedded PGlite"} · server flags: ${r.serverNodeFlags === undefined ? "not recorded" : r.serverNodeFlags.length === 0 ? "none" : r.serverNodeFlags.join(" ")} · critical path ${r.criticalPathMs.toFixed(0)} ms · ${r.durationS} s`,
    "",
    "| Figure | Server | Baseline | Ratio | Target | |",
    "|---|---|---|---|---|---|",
    ...rows.map((row) => `| ${row.join(" | ")} |`),
    "",
    "Sweep (alternating server and baseline at each point):",
    "",
    "| Target | N | Result | Pong p50 / p99 ms | Overhead p50 / p99 ms | CPU µs/frame | Core % | RSS KB/session | Heap KB/session | Target stalls: loop > 50 ms / GC > 20 ms (longest) | Generator lag p99 ms |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
    ...sweep
  ].join("\n")
}

/** Replaces the plan's section of docs/benchmarks.md (between its markers), appending one if it is missing. */
export const writeDocs = (r: ResultForDocs) => {
  const path = join(Root, "docs/benchmarks.md")
  const start = `<!-- bench:${r.plan}:start -->`
  const end = `<!-- bench:${r.plan}:end -->`
  const text = existsSync(path) ? readFileSync(path, "utf8") : "# Benchmarks\n"
  const block = `${start}\n${table(r)}\n${end}`
  const from = text.indexOf(start)
  const to = text.indexOf(end)
  const next =
    from >= 0 && to > from
      ? text.slice(0, from) + block + text.slice(to + end.length)
      : `${text.trimEnd()}\n\n## Latest \`${r.command}\`\n\n${block}\n`
  writeFileSync(path, next)
}

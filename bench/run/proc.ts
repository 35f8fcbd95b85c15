// Child processes of a benchmark run: the server under test and the baseline pinned to core 0, the load generator
// to core 1 (with `taskset` when it exists), their output lines, CPU time from /proc and forced-GC memory readings.
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { databaseEnv, serverEnv } from "../lib/criticalPath.ts"
import type { LoadgenConfig, LoadgenResult } from "../lib/loadgenTypes.ts"

export const Root = new URL("../../", import.meta.url).pathname
const hasTaskset = spawnSync("taskset", ["-c", "0", "true"]).status === 0
export const pinning = hasTaskset ? "taskset: target on core 0, generator on core 1" : "no taskset: not pinned"

const pinned = (core: number, args: Array<string>) =>
  hasTaskset ? ["taskset", "-c", String(core), process.execPath, ...args] : [process.execPath, ...args]

/** Splits a child's stdout into lines and hands each to the listeners. */
const lines = (child: ChildProcess, listeners: Set<(line: string) => void>) => {
  let rest = ""
  child.stdout!.on("data", (chunk: Buffer) => {
    const parts = (rest + chunk.toString()).split("\n")
    rest = parts.pop() ?? ""
    for (const line of parts) for (const listener of listeners) listener(line)
  })
}

const waitLine = (listeners: Set<(line: string) => void>, prefix: string, timeoutMs: number) =>
  new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      listeners.delete(listener)
      reject(new Error(`no "${prefix}" line within ${timeoutMs} ms`))
    }, timeoutMs)
    const listener = (line: string) => {
      if (!line.startsWith(prefix)) return
      clearTimeout(timer)
      listeners.delete(listener)
      resolve(line.slice(prefix.length).trim())
    }
    listeners.add(listener)
  })

/** A free loopback port (bound, read, released). */
export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const probe = createServer()
    probe.once("error", reject)
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address()
      probe.close(() => (address !== null && typeof address !== "string" ? resolve(address.port) : reject()))
    })
  })

/** The target's own stalls between two memory readings (bench/gcHook.ts). */
export interface TargetStalls {
  /** Event-loop ticks (every 20 ms) that came more than 50 ms late, and the worst lateness. */
  readonly loopOver50Ms: number
  readonly loopMaxLateMs: number
  /** Garbage collections (forced ones left out) that paused over 20 ms, the longest, and all pauses together. */
  readonly gcOver20Ms: number
  readonly gcMaxMs: number
  readonly gcTotalMs: number
}

export interface Memory {
  readonly rss: number
  readonly heapUsed: number
  readonly external: number
  readonly arrayBuffers: number
  readonly handles: number
  /** Since the previous reading; absent from targets of checkouts whose gcHook.ts predates it. */
  readonly stalls?: TargetStalls | undefined
  /** Bytes V8 holds per heap space after the collection; absent from older checkouts' gcHook.ts. */
  readonly spaces?: Readonly<Record<string, number>> | undefined
}

export interface Target {
  readonly name: "server" | "baseline"
  readonly pid: number
  readonly url: string
  readonly httpUrl: string
  /** Forces a full GC in the target (bench-only preload) and reads its memory. */
  readonly gc: () => Promise<Memory>
  /** CPU time (user + system) used so far, in ms. */
  readonly cpuMs: () => number
  readonly activeSessions: () => Promise<number>
  readonly stop: () => Promise<void>
}

const ticksPerSecond = Number(spawnSync("getconf", ["CLK_TCK"]).stdout?.toString().trim()) || 100

const cpuMsOf = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond
}

/** Starts a target pinned to core 0 and waits (at most 60 s) until its /healthz answers. */
export const startTarget = async (
  name: Target["name"],
  script: string,
  args: Array<string>,
  env: Record<string, string>,
  port: number,
  cwd: string = Root,
  nodeFlags: ReadonlyArray<string> = []
): Promise<Target> => {
  const hook = new URL("../gcHook.ts", import.meta.url).href
  // BENCH_CPU_PROF=<dir>: the target writes a V8 CPU profile there when it exits.
  const prof = process.env.BENCH_CPU_PROF ? ["--cpu-prof", "--cpu-prof-dir", process.env.BENCH_CPU_PROF] : []
  // BENCH_NODE_FLAGS="<flags>": extra Node/V8 flags for the targets (e.g. --trace-gc), for diagnosis.
  const extra = process.env.BENCH_NODE_FLAGS?.split(" ").filter((flag) => flag.length > 0) ?? []
  const [command, ...rest] = pinned(0, [
    "--expose-gc",
    ...nodeFlags,
    ...extra,
    ...prof,
    "--import",
    hook,
    script,
    ...args
  ])
  const child = spawn(command!, rest, { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] })
  const listeners = new Set<(line: string) => void>()
  lines(child, listeners)
  let stderr = ""
  const keep = (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000)
  }
  child.stderr!.on("data", keep)
  // BENCH_TARGET_LOG=<file>: the targets' standard output (appended), e.g. what --trace-gc prints.
  if (process.env.BENCH_TARGET_LOG !== undefined)
    child.stdout!.pipe(createWriteStream(process.env.BENCH_TARGET_LOG, { flags: "a" }))
  child.stdout!.on("data", keep)
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  const httpUrl = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 60_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited (${child.exitCode}) at start:\n${stderr}`)
    const ok = await fetch(`${httpUrl}/healthz`).then(
      (r) => r.ok,
      () => false
    )
    if (ok) break
    if (Date.now() > deadline) {
      // Not left running pinned to the target's core.
      child.kill("SIGKILL")
      throw new Error(`${name} did not answer /healthz within 60 s:\n${stderr}`)
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  return {
    name,
    pid: child.pid!,
    url: `ws://127.0.0.1:${port}/v1/stream`,
    httpUrl,
    gc: async () => {
      const reading = waitLine(listeners, "BENCH_MEM", 10_000)
      child.kill("SIGUSR2")
      return JSON.parse(await reading) as Memory
    },
    cpuMs: () => cpuMsOf(child.pid!),
    activeSessions: async () =>
      ((await (await fetch(`${httpUrl}/readyz`)).json()) as { activeSessions: number }).activeSessions,
    stop: async () => {
      child.kill("SIGTERM")
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000)
      await exited
      clearTimeout(timer)
    }
  }
}

/**
 * The Node flags of a checkout's `npm start` (every word between `node` and `src/main.ts`), so the benchmark runs each server as it
 * is deployed: e.g. the young-generation size of decision 37. None for a checkout whose start script has none.
 */
export const startCommandFlags = (dir: string = Root): Array<string> => {
  const scripts = (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { scripts?: { start?: string } })
    .scripts
  const words = (scripts?.start ?? "").split(/\s+/).filter((word) => word.length > 0)
  const script = words.indexOf("src/main.ts")
  return words[0] === "node" && script > 0 ? words.slice(1, script) : []
}

/**
 * The server under test as every benchmark script runs it: the Node flags of its `npm start`, mock providers on the critical path, limits raised, the
 * chosen database (BENCH_DATABASE_URL, else PGlite in a fresh folder), the code of `dir`; `env` overrides. Its
 * `stop` also removes the data folder.
 */
export const startServerUnderTest = async (
  secret: string,
  env: Record<string, string> = {},
  dir: string = Root
): Promise<Target> => {
  const dataDir = mkdtempSync(join(tmpdir(), "vs-bench-"))
  const port = await freePort()
  const server = await startTarget(
    "server",
    "src/main.ts",
    [],
    {
      ...serverEnv(5000),
      JWT_SECRET: secret,
      STREAM_HOST: "127.0.0.1",
      STREAM_WS_PORT: String(port),
      STREAM_DATA_DIR: dataDir,
      ...databaseEnv(),
      ...env
    },
    port,
    dir,
    startCommandFlags(dir)
  ).catch((error: unknown) => {
    rmSync(dataDir, { recursive: true, force: true })
    throw error
  })
  return {
    ...server,
    stop: async () => {
      await server.stop()
      rmSync(dataDir, { recursive: true, force: true })
    }
  }
}

/** Runs the load generator on core 1; `onLine` sees its MEASURE_START / MEASURE_END lines as they come. */
export const runLoadgen = async (
  config: LoadgenConfig,
  onLine: (line: string) => void | Promise<void> = () => {}
): Promise<LoadgenResult> => {
  const [command, ...rest] = pinned(1, ["--max-semi-space-size=32", "bench/loadgen.ts", JSON.stringify(config)])
  const child = spawn(command!, rest, { cwd: Root, stdio: ["ignore", "pipe", "inherit"] })
  const listeners = new Set<(line: string) => void>([(line) => void onLine(line)])
  lines(child, listeners)
  const killer = setTimeout(() => child.kill("SIGKILL"), config.deadlineMs + 20_000)
  try {
    return JSON.parse(await waitLine(listeners, "RESULT", config.deadlineMs + 20_000)) as LoadgenResult
  } finally {
    clearTimeout(killer)
  }
}

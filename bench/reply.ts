// The cost of one reply's pipeline in isolation: `node bench/reply.ts [replies] [concurrent]`. Runs pipeline/Reply's
// runReply in this process over the ports as Providers.ts builds them (mock enricher, LLM and TTS under their
// resilience guard and telemetry, every mock delay 0), `concurrent` replies at a time, with events and audio
// discarded, and prints the CPU time and the young-generation collections per reply. No sockets, no server: the
// figure is the reply pipeline's own, steady enough to compare two versions of it side by side (run it in each
// checkout, alternating). BENCH_ALLOC_PROF=<file> writes a sampling profile of what the measured replies allocate
// (collected objects included), for /tmp/allocsum-style summaries. BENCH_REPLY_PACED=1 gives the mocks the benchmark's
// delays instead (first token after 300 ms, then 30 tokens/s; TTS first byte after 150 ms): each token and audio chunk
// then arrives on its own, as in the server, so the figure includes the cost of every wake-up along the pipeline.
// Bounded: at most 20,000 replies.
import { writeFileSync } from "node:fs"
import { Session } from "node:inspector/promises"
import { PerformanceObserver } from "node:perf_hooks"
import { Effect, Scheduler } from "effect"
import { MockDefaults } from "../src/config/MockSettings.ts"
import type { ReplyIO } from "../src/pipeline/Reply.ts"
import { DrainingScheduler } from "../src/runtime/DrainingScheduler.ts"
import { MockDelays } from "./lib/criticalPath.ts"
import { oneReply, replyPorts } from "./lib/replyRig.ts"

const replies = Number(process.argv[2] ?? 3000)
const concurrent = Number(process.argv[3] ?? 50)
if (!Number.isInteger(replies) || replies < 1 || replies > 20_000 || !Number.isInteger(concurrent) || concurrent < 1) {
  console.error("usage: node bench/reply.ts [replies 1..20000] [concurrent]")
  process.exit(2)
}

const paced = process.env.BENCH_REPLY_PACED === "1"
const mocks = paced
  ? {
      ...MockDefaults,
      llmFirstTokenDelayMs: MockDelays.llmFirstTokenMs,
      llmTokensPerSecond: MockDelays.llmTokensPerSec,
      ttsFirstByteDelayMs: MockDelays.ttsFirstByteMs,
      enrichmentDelayMs: 0
    }
  : {
      ...MockDefaults,
      llmFirstTokenDelayMs: 0,
      llmTokensPerSecond: 1_000_000,
      ttsFirstByteDelayMs: 0,
      enrichmentDelayMs: 0
    }

let scavenges = 0
let scavengeMs = 0
const gcObserver = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    // kind 1: minor (scavenge)
    if ((entry as unknown as { detail?: { kind?: number } }).detail?.kind === 1) {
      scavenges++
      scavengeMs += entry.duration
    }
  }
})

const program = Effect.gen(function* () {
  let events = 0
  let audioFrames = 0
  const io: ReplyIO = {
    event: () =>
      Effect.sync(() => {
        events++
      }),
    audio: () =>
      Effect.sync(() => {
        audioFrames++
      })
  }
  const batch = (count: number, from: number) =>
    Effect.forEach(
      Array.from({ length: count }, (_, i) => from + i),
      (turn) => oneReply(turn, io),
      { concurrency: concurrent, discard: true }
    )
  return yield* Effect.gen(function* () {
    // Warm-up: the JIT and the ports' first calls are not part of the figure.
    yield* batch(Math.min(500, replies), 0)
    global.gc?.()
    events = 0
    audioFrames = 0
    gcObserver.observe({ entryTypes: ["gc"] })
    const allocProfile = process.env.BENCH_ALLOC_PROF
    const inspector = allocProfile === undefined ? undefined : new Session()
    if (inspector !== undefined) {
      inspector.connect()
      yield* Effect.promise(() =>
        inspector.post("HeapProfiler.startSampling", {
          samplingInterval: 1024,
          includeObjectsCollectedByMinorGC: true,
          includeObjectsCollectedByMajorGC: true
        })
      )
    }
    const cpuBefore = process.cpuUsage()
    const wallBefore = performance.now()
    yield* batch(replies, 1_000_000)
    const cpu = process.cpuUsage(cpuBefore)
    const wallMs = performance.now() - wallBefore
    if (inspector !== undefined && allocProfile !== undefined) {
      const { profile } = yield* Effect.promise(() => inspector.post("HeapProfiler.stopSampling"))
      writeFileSync(allocProfile, JSON.stringify(profile))
      inspector.disconnect()
    }
    // Let the observer deliver the last entries.
    yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 50)))
    gcObserver.disconnect()
    const perReplyUs = (cpu.user + cpu.system) / replies
    console.log(
      `${replies} replies${paced ? " (paced)" : ""}, ${concurrent} at a time, ${Math.round(wallMs)} ms: ${perReplyUs.toFixed(0)} µs CPU per reply, ` +
        `${((scavenges / replies) * 1000).toFixed(1)} scavenges per 1000 replies (${scavengeMs.toFixed(0)} ms in all), ` +
        `${(events / replies).toFixed(1)} events and ${(audioFrames / replies).toFixed(1)} audio frames per reply`
    )
  }).pipe(Effect.provide(replyPorts(mocks)))
})

// On the server's scheduler (decision 38), as every fiber of the server runs.
await Effect.runPromise(Effect.provideService(program, Scheduler.Scheduler, new DrainingScheduler()))

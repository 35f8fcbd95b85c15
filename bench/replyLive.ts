// What a reply in flight keeps alive: `node --expose-gc bench/replyLive.ts [replies] [at ms]`. Starts `replies`
// replies of pipeline/Reply's runReply at once in this process, over the ports as Providers.ts builds them (mock
// enricher, LLM and TTS under their resilience guard and telemetry, with the mock delays of `npm run bench`: first
// token 300 ms, 30 tokens/s, TTS first byte 150 ms), takes a heap snapshot `at` ms later (150: waiting for the LLM;
// 900: the TTS speaking the first sentence) and one before they started, and prints the difference per reply: bytes
// and objects, by V8 node type and constructor. That is what each young-generation collection has to copy for every
// reply in flight (docs/benchmarks.md, third round). Bounded: at most 2,000 replies, 5 s.
import { readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { writeHeapSnapshot } from "node:v8"
import { Effect, Fiber, Scheduler } from "effect"
import { MockDefaults } from "../src/config/MockSettings.ts"
import type { ReplyIO } from "../src/pipeline/Reply.ts"
import { DrainingScheduler } from "../src/runtime/DrainingScheduler.ts"
import { MockDelays } from "./lib/criticalPath.ts"
import { oneReply, replyPorts } from "./lib/replyRig.ts"

const replies = Number(process.argv[2] ?? 200)
const atMs = Number(process.argv[3] ?? 900)
const gc = (globalThis as { gc?: () => void }).gc
if (!Number.isInteger(replies) || replies < 1 || replies > 2000 || !(atMs >= 0 && atMs <= 5000) || gc === undefined) {
  console.error("usage: node --expose-gc bench/replyLive.ts [replies 1..2000] [at ms 0..5000]")
  process.exit(2)
}

const mocks = {
  ...MockDefaults,
  llmFirstTokenDelayMs: MockDelays.llmFirstTokenMs,
  llmTokensPerSecond: MockDelays.llmTokensPerSec,
  ttsFirstByteDelayMs: MockDelays.ttsFirstByteMs,
  enrichmentDelayMs: 0
}

/** Bytes and count per "type:constructor" of every node in a heap snapshot file. */
const census = (file: string) => {
  const snapshot = JSON.parse(readFileSync(file, "utf8")) as {
    snapshot: { meta: { node_fields: Array<string>; node_types: [Array<string>] } }
    nodes: Array<number>
    strings: Array<string>
  }
  rmSync(file, { force: true })
  const fields = snapshot.snapshot.meta.node_fields
  const types = snapshot.snapshot.meta.node_types[0]
  const width = fields.length
  const [type, name, size] = [fields.indexOf("type"), fields.indexOf("name"), fields.indexOf("self_size")]
  const byKind = new Map<string, { bytes: number; count: number }>()
  for (let i = 0; i < snapshot.nodes.length; i += width) {
    const t = types[snapshot.nodes[i + type]!]!
    const kind = t === "object" || t === "closure" ? `${t}:${snapshot.strings[snapshot.nodes[i + name]!]}` : t
    const entry = byKind.get(kind) ?? { bytes: 0, count: 0 }
    entry.bytes += snapshot.nodes[i + size]!
    entry.count++
    byKind.set(kind, entry)
  }
  return byKind
}

const discard: ReplyIO = { event: () => Effect.void, audio: () => Effect.void }

const program = Effect.gen(function* () {
  // Warm-up: the JIT, the ports' first calls and their caches are not part of the figure.
  yield* Effect.forEach([1, 2, 3, 4, 5], (turn) => oneReply(turn, discard), { concurrency: 5, discard: true })
  gc()
  const before = census(writeHeapSnapshot(join(tmpdir(), `reply-live-idle-${process.pid}.heapsnapshot`)))
  const fibers = yield* Effect.forEach(
    Array.from({ length: replies }, (_, i) => i),
    (i) => Effect.forkChild(oneReply(100 + i, discard))
  )
  yield* Effect.sleep(atMs)
  gc()
  const during = census(writeHeapSnapshot(join(tmpdir(), `reply-live-busy-${process.pid}.heapsnapshot`)))
  yield* Fiber.joinAll(fibers)
  const rows = [...during]
    .map(([kind, now]) => {
      const was = before.get(kind) ?? { bytes: 0, count: 0 }
      return { kind, bytes: (now.bytes - was.bytes) / replies, count: (now.count - was.count) / replies }
    })
    .filter((row) => row.bytes > 0)
    .sort((a, b) => b.bytes - a.bytes)
  const bytes = rows.reduce((sum, row) => sum + row.bytes, 0)
  const count = rows.reduce((sum, row) => sum + row.count, 0)
  console.log(
    `${replies} replies in flight, ${atMs} ms after they started: ${(bytes / 1024).toFixed(1)} KB and ${count.toFixed(0)} objects per reply`
  )
  for (const row of rows.slice(0, 25)) {
    console.log(`${row.bytes.toFixed(0).padStart(8)} B ${row.count.toFixed(1).padStart(7)} objects  ${row.kind}`)
  }
})

// On the server's scheduler (decision 38), as every fiber of the server runs.
Effect.runPromise(
  Effect.provide(program, replyPorts(mocks)).pipe(Effect.provideService(Scheduler.Scheduler, new DrainingScheduler()))
)

// Benchmark-only preload (`node --expose-gc --import ./bench/gcHook.ts …`): on SIGUSR2 it forces a full garbage
// collection and prints one `BENCH_MEM {json}` line with memory, open-handle counts and the target's own stalls since
// the previous reading (below). Never loaded in production.
import { constants, PerformanceObserver } from "node:perf_hooks"
import { getHeapSpaceStatistics } from "node:v8"

const gc = (globalThis as { gc?: () => void }).gc

// Stalls of the target itself, so a step that fails on pong p99 can be told apart: the event loop held up (a tick
// every 20 ms that came more than 50 ms late) or a garbage collection pause over 20 ms (forced ones left out), against
// a target that kept up while the machine did not. Counted between two readings.
const TickMs = 20
const StallMs = 50
const LongGcMs = 20
let lastTick = performance.now()
let loopStalls = 0
let loopMaxLateMs = 0
let longGcs = 0
let gcMaxMs = 0
let gcTotalMs = 0
setInterval(() => {
  const now = performance.now()
  const late = now - lastTick - TickMs
  lastTick = now
  if (late > StallMs) loopStalls++
  loopMaxLateMs = Math.max(loopMaxLateMs, late)
}, TickMs).unref()
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const flags = (entry as unknown as { detail?: { flags?: number } }).detail?.flags ?? 0
    if ((flags & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED) !== 0) continue
    gcTotalMs += entry.duration
    gcMaxMs = Math.max(gcMaxMs, entry.duration)
    if (entry.duration > LongGcMs) longGcs++
  }
}).observe({ entryTypes: ["gc"] })

const round1 = (x: number) => Math.round(x * 10) / 10

process.on("SIGUSR2", () => {
  const stalls = {
    loopOver50Ms: loopStalls,
    loopMaxLateMs: round1(Math.max(0, loopMaxLateMs)),
    gcOver20Ms: longGcs,
    gcMaxMs: round1(gcMaxMs),
    gcTotalMs: round1(gcTotalMs)
  }
  gc?.()
  gc?.()
  const memory = process.memoryUsage()
  const handles = process.getActiveResourcesInfo().length
  // Bytes V8 holds per heap space after the collection (new, old, code, large_object, …): where RSS above the live
  // heap sits.
  const spaces = Object.fromEntries(getHeapSpaceStatistics().map((space) => [space.space_name, space.space_size]))
  process.stdout.write(`BENCH_MEM ${JSON.stringify({ ...memory, handles, gc: gc !== undefined, stalls, spaces })}\n`)
  // The next window starts after this reading's own (forced) pause.
  lastTick = performance.now()
  loopStalls = 0
  loopMaxLateMs = 0
  longGcs = 0
  gcMaxMs = 0
  gcTotalMs = 0
})

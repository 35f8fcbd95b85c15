// Process gauges: memory (resident, heap), CPU time and event-loop delay (node:perf_hooks monitorEventLoopDelay,
// summarised per sampling window and then reset; the monitor's own 10 ms timer period is not counted as delay).
import { monitorEventLoopDelay } from "node:perf_hooks"
import { Effect, Metric } from "effect"
import * as M from "./Metrics.ts"

const NanosPerSecond = 1e9
/** The monitor's timer period; its samples include it, so it is taken off to leave the delay itself. */
const ResolutionMs = 10
const MicrosPerSecond = 1e6

const loopStat = (stat: "mean" | "p50" | "p99" | "max") => Metric.withAttributes(M.eventLoopDelaySeconds, { stat })

/** Starts the event-loop monitor for the caller's Scope; `sample` reads memory and CPU, `sampleEventLoop` the delay. */
export const makeProcessSampler = (memoryLimitBytes: number) =>
  Effect.gen(function* () {
    const loop = monitorEventLoopDelay({ resolution: ResolutionMs })
    yield* Effect.acquireRelease(
      Effect.sync(() => loop.enable()),
      () => Effect.sync(() => loop.disable())
    )
    let cpuCounted = { user: 0, system: 0 }

    const sample = Effect.suspend(() => {
      const memory = process.memoryUsage()
      const cpu = process.cpuUsage()
      const cpuSeconds = (cpu.user - cpuCounted.user + cpu.system - cpuCounted.system) / MicrosPerSecond
      cpuCounted = cpu
      return Effect.all(
        [
          Metric.update(M.residentMemoryBytes, memory.rss),
          Metric.update(M.heapUsedBytes, memory.heapUsed),
          Metric.update(M.heapTotalBytes, memory.heapTotal),
          Metric.update(M.memoryLimitBytes, memoryLimitBytes),
          Metric.update(M.cpuSeconds, Math.max(0, cpuSeconds))
        ],
        { discard: true }
      )
    })

    const sampleEventLoop = Effect.suspend(() => {
      const seen = loop.count > 0
      const stats = {
        mean: seen ? loop.mean : 0,
        p50: seen ? loop.percentile(50) : 0,
        p99: seen ? loop.percentile(99) : 0,
        max: seen ? loop.max : 0
      }
      loop.reset()
      return Effect.forEach(
        Object.entries(stats) as Array<[keyof typeof stats, number]>,
        ([stat, nanos]) => Metric.update(loopStat(stat), Math.max(0, nanos - ResolutionMs * 1e6) / NanosPerSecond),
        { discard: true }
      )
    })

    return { sample, sampleEventLoop }
  })

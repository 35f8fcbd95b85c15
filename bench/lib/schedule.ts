// The reply audio schedule the baseline replays: bursts of binary frames at offsets from the end of speech, taken
// from a one-session calibration turn on the server under test and moved so the first burst lands exactly on the
// configured critical path.
import { CriticalPathMs } from "./criticalPath.ts"

export interface Burst {
  readonly atMs: number
  readonly frameBytes: ReadonlyArray<number>
}

/** Groups the first turn's recorded (offset, bytes) frames into bursts (frames under 5 ms apart), re-based. */
export const toSchedule = (recorded: ReadonlyArray<readonly [number, number]>): Array<Burst> => {
  const bursts: Array<{ atMs: number; frameBytes: Array<number> }> = []
  let last = Number.NEGATIVE_INFINITY
  for (const [offset, bytes] of recorded) {
    if (offset < last) break // the next turn: one turn is the schedule
    if (offset - last > 5 || bursts.length === 0) bursts.push({ atMs: offset, frameBytes: [] })
    bursts[bursts.length - 1]!.frameBytes.push(bytes)
    last = offset
  }
  const first = bursts[0]?.atMs ?? 0
  return bursts.map((b) => ({ atMs: Math.round(CriticalPathMs + b.atMs - first), frameBytes: b.frameBytes }))
}

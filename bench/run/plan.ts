// The two benchmark plans: `quick` (a few points, under 2 minutes) and `full` (the sweep, under 15 minutes).
import type { Timing } from "./scenarios.ts"

export interface Plan {
  readonly name: "quick" | "full"
  readonly steps: ReadonlyArray<number>
  readonly timing: Timing
  /** Run a dedicated step at half the server's capacity (else the sweep step nearest below it is used). */
  readonly halfCapacityStep: boolean
  readonly halfTiming: Timing
  readonly leakRounds: number
  readonly leakSessions: number
  readonly leakRate: number
  readonly connects: number
  /** Measure a step again when the generator fell behind (the full plan; the quick one keeps under 2 minutes). */
  readonly retryInvalid: boolean
}

const timing = (measureMs: number, rampMs: number): Timing => ({
  rampMs,
  measureMs,
  holdMs: 1500,
  turnPeriodMs: 5000,
  speechMs: 1200
})

export const Plans: Record<Plan["name"], Plan> = {
  quick: {
    name: "quick",
    steps: [25, 100],
    timing: timing(5000, 1500),
    halfCapacityStep: false,
    halfTiming: timing(5000, 1500),
    leakRounds: 3,
    leakSessions: 1000,
    leakRate: 500,
    connects: 300,
    retryInvalid: false
  },
  full: {
    name: "full",
    steps: [25, 50, 100, 150, 250, 400, 600, 800, 1000, 1250, 1500],
    timing: timing(8000, 3000),
    halfCapacityStep: true,
    halfTiming: timing(16000, 3000),
    leakRounds: 6,
    leakSessions: 1000,
    leakRate: 500,
    connects: 600,
    retryInvalid: true
  }
}

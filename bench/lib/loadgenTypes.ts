// What the run orchestrator asks of the load generator (one JSON argument) and what the generator reports back
// (one `RESULT {json}` line on stdout).

export interface LoadgenConfig {
  /** `stream`: N sessions streaming turns; `churn`: connect/stream/disconnect (leak rounds); `connect`: open only. */
  readonly mode: "stream" | "churn" | "connect"
  readonly url: string
  readonly secret: string
  readonly sessions: number
  /** stream: sessions are opened evenly over this time. churn/connect: sessions are opened at `ratePerSec`. */
  readonly rampMs: number
  readonly ratePerSec: number
  /** stream: the measured window after the ramp (plus one warm-up turn period). */
  readonly measureMs: number
  /** stream: time the sessions stay open after the window (the orchestrator samples memory then). */
  readonly holdMs: number
  readonly turnPeriodMs: number
  readonly speechMs: number
  readonly endpointSilenceMs: number
  /** churn: audio frames each session streams before it leaves. */
  readonly churnFrames: number
  /** stream with one session: record the reply audio frames (offset from the end of speech, size). */
  readonly record: boolean
  /**
   * stream: every `cancelEvery`-th measured turn of a session is cancelled (`response.cancel`) as its first reply
   * audio arrives, and the time to `response.cancelled` is measured; 0 or absent: no turn is cancelled.
   */
  readonly cancelEvery?: number
  /** Hard limit on the whole run. */
  readonly deadlineMs: number
}

export interface LoadgenResult {
  readonly mode: LoadgenConfig["mode"]
  readonly sessions: number
  readonly opened: number
  readonly connectErrors: number
  readonly connectMs: ReadonlyArray<number>
  readonly startedMs: ReadonlyArray<number>
  readonly firstAudioMs: ReadonlyArray<number>
  readonly pongMs: ReadonlyArray<number>
  readonly pingsUnanswered: number
  readonly turnsDone: number
  readonly turnsCancelled: number
  /** `response.cancel` sent, and the time from each to its `response.cancelled` (answered ones only). */
  readonly cancelsSent: number
  readonly cancelMs: ReadonlyArray<number>
  readonly turnsMissingAudio: number
  readonly lostBytes: number
  readonly lostTurns: number
  readonly framesSent: number
  readonly framesSentInWindow: number
  readonly errorEvents: Readonly<Record<string, number>>
  readonly unexpectedCloses: number
  readonly lagMs: { readonly p50: number; readonly p99: number; readonly max: number }
  readonly valid: boolean
  readonly recorded: ReadonlyArray<readonly [number, number]>
  readonly stages: Readonly<Record<string, ReadonlyArray<number>>>
  readonly audioDoneBytes: number
  readonly durationMs: number
}

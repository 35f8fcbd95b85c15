// What the load generator measures, shared by all its sessions; `measuring` marks the window that counts.
export class Metrics {
  measuring = false
  connectErrors = 0
  unexpectedCloses = 0
  readonly connectMs: Array<number> = []
  readonly startedMs: Array<number> = []
  readonly firstAudioMs: Array<number> = []
  readonly pongMs: Array<number> = []
  /** From a `response.cancel` written to its `response.cancelled`. */
  readonly cancelMs: Array<number> = []
  readonly lagMs: Array<number> = []
  readonly errorEvents: Record<string, number> = {}
  readonly recorded: Array<readonly [number, number]> = []
  /** The server's own per-stage latency (`response.done.latency`) of measured turns. */
  readonly stages: Record<string, Array<number>> = {}
  turnsDone = 0
  turnsCancelled = 0
  cancelsSent = 0
  turnsMissingAudio = 0
  lostBytes = 0
  lostTurns = 0
  framesSent = 0
  framesSentInWindow = 0
  audioDoneBytes = 0

  countError(code: string) {
    this.errorEvents[code] = (this.errorEvents[code] ?? 0) + 1
  }
}

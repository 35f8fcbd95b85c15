// The way in for a session's audio: checks each frame (session started, PCM16, not ahead of real time) and hands it
// to the STT input queue synchronously, never waiting. What the client must hear about it (a refusal, or one notice
// per episode of audio refused for speed or dropped because the STT is behind) comes back as an outcome.
import { type Cause, Queue } from "effect"
import type { AudioFormat } from "../domain/Audio.ts"
import type { ServerEvent } from "../domain/Protocol.ts"
import type { SttInput } from "../pipeline/Stt.ts"
import type { ConnectionLimits } from "../protection/ConnectionLimits.ts"
import { checkAudioFrame, type InboundProblem } from "./Inbound.ts"

/** Audio frames buffered between the socket and the STT; beyond it audio is dropped (audio_dropped), never waited on. */
export const SttInputCapacity = 256

/** What a frame or a commit needs the session to do: refuse it (a bad message), or tell the client something. */
export type AudioOutcome =
  | { readonly _tag: "Reject"; readonly problem: InboundProblem }
  | { readonly _tag: "Notice"; readonly event: ServerEvent }

const notStarted: AudioOutcome = {
  _tag: "Reject",
  problem: { code: "session_not_started", message: "Send session.start before audio frames" }
}

const dropped: AudioOutcome = {
  _tag: "Notice",
  event: {
    type: "error",
    code: "audio_dropped",
    message: `Speech recognition is ${SttInputCapacity} frames behind; audio is being dropped until it catches up`,
    recoverable: true
  }
}

export class AudioGate {
  private input: Queue.Queue<SttInput, Cause.Done> | undefined
  private format: AudioFormat | undefined
  private dropping = false
  private throttled = false
  private readonly limits: ConnectionLimits
  private readonly audioAheadMs: number

  constructor(limits: ConnectionLimits, audioAheadMs: number) {
    this.limits = limits
    this.audioAheadMs = audioAheadMs
  }

  /** From `session.start` on, audio in `format` goes to `input`. */
  open(input: Queue.Queue<SttInput, Cause.Done>, format: AudioFormat) {
    this.input = input
    this.format = format
  }

  /** One audio frame from the client. */
  audio(frame: Uint8Array): AudioOutcome | undefined {
    if (this.input === undefined || this.format === undefined) return notStarted
    const problem = checkAudioFrame(frame)
    if (problem !== undefined) return { _tag: "Reject", problem }
    const verdict = this.limits.audio((frame.byteLength / 2 / this.format.sampleRate) * 1000)
    if (!verdict.allowed) {
      if (this.throttled) return undefined
      this.throttled = true
      return {
        _tag: "Notice",
        event: {
          type: "error",
          code: "rate_limited",
          message: `Audio is arriving faster than real time (over ${this.audioAheadMs} ms ahead); frames are dropped until it slows down`,
          recoverable: true,
          retryAfterMs: verdict.retryAfterMs
        }
      }
    }
    this.throttled = false
    return this.offer({ _tag: "Audio", pcm: frame })
  }

  /** The client's input.commit, after the audio before it. */
  commit(): AudioOutcome | undefined {
    return this.input === undefined ? undefined : this.offer({ _tag: "Commit" })
  }

  /** Into the STT input without waiting; when it is full the item is dropped, with one notice per episode. */
  private offer(item: SttInput): AudioOutcome | undefined {
    if (Queue.offerUnsafe(this.input!, item)) {
      this.dropping = false
      return undefined
    }
    if (this.dropping) return undefined
    this.dropping = true
    return dropped
  }
}

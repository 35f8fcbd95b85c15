// The way in for a session's audio: checks each frame (session started, PCM16, not ahead of real time) and hands it
// to the STT synchronously, never waiting: to the adapter's taker when one is attached (the push form), else into the
// STT buffer (read as a stream, or handed to the next taker first). What the client must hear about it (a refusal, or
// one notice per episode of audio refused for speed or dropped because the STT is behind) comes back as an outcome.
import { type Cause, Effect, Exit, Queue, Stream } from "effect"
import type { AudioFormat } from "../domain/Audio.ts"
import type { ServerEvent } from "../domain/Protocol.ts"
import { type SttAudio, type SttInput, SttInputCapacity } from "../pipeline/Stt.ts"
import type { ConnectionLimits } from "../protection/ConnectionLimits.ts"
import { checkAudioFrame, type InboundProblem } from "./Inbound.ts"

/** What a frame or a commit needs the session to do: refuse it (a bad message), or tell the client something. */
export type AudioOutcome =
  | { readonly _tag: "Reject"; readonly problem: InboundProblem }
  | { readonly _tag: "Notice"; readonly event: ServerEvent }

/** An adapter's synchronous intake (SttAudio.attach): false when it cannot take the item now. */
type Taker = (item: SttInput) => boolean

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
  private buffer: Queue.Queue<SttInput, Cause.Done> | undefined
  private taker: Taker | undefined
  private format: AudioFormat | undefined
  private dropping = false
  /** Items were dropped while a taker was handed the buffer: the next offer tells the client. */
  private droppedUnreported = false
  private throttled = false
  private readonly limits: ConnectionLimits
  private readonly audioAheadMs: number

  constructor(limits: ConnectionLimits, audioAheadMs: number) {
    this.limits = limits
    this.audioAheadMs = audioAheadMs
  }

  /** From `session.start` on, audio in `format` goes to the STT through `buffer`: the STT's input, in both forms. */
  open(buffer: Queue.Queue<SttInput, Cause.Done>, format: AudioFormat): SttAudio {
    this.buffer = buffer
    this.format = format
    return { stream: Stream.fromQueue(buffer), attach: (take) => this.attach(buffer, take) }
  }

  /** One audio frame from the client. */
  audio(frame: Uint8Array): AudioOutcome | undefined {
    if (this.buffer === undefined || this.format === undefined) return notStarted
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
    return this.buffer === undefined ? undefined : this.offer({ _tag: "Commit" })
  }

  /** Into the STT without waiting; an item it cannot take is dropped, with one notice per episode. */
  private offer(item: SttInput): AudioOutcome | undefined {
    const taken = this.taker === undefined ? Queue.offerUnsafe(this.buffer!, item) : this.taker(item)
    const report = this.droppedUnreported || (!taken && !this.dropping)
    this.droppedUnreported = false
    this.dropping = !taken
    return report ? dropped : undefined
  }

  /** The push form: the buffer is handed over and `take` takes its place until interrupted (never ends by itself). */
  private attach(buffer: Queue.Queue<SttInput, Cause.Done>, take: Taker): Effect.Effect<void> {
    return Effect.acquireUseRelease(
      // One synchronous step, so that no item can arrive between the buffered ones and the taker.
      Effect.sync(() => {
        let next = Queue.takeUnsafe(buffer)
        while (next !== undefined && Exit.isSuccess(next)) {
          if (take(next.value)) this.dropping = false
          else if (!this.dropping) this.dropping = this.droppedUnreported = true
          next = Queue.takeUnsafe(buffer)
        }
        this.taker = take
      }),
      () => Effect.never,
      // A later attach (a fallback provider) may already have taken over.
      () =>
        Effect.sync(() => {
          if (this.taker === take) this.taker = undefined
        })
    )
  }
}

// Cuts a session's audio into utterances for a transcription API that has no endpointing of its own: energy-based
// speech detection (EnergyEndpointer, in audio time), a short pre-roll so soft onsets are kept, the end at a stretch
// of silence, at input.commit, or at a length cap. Plain synchronous state; the STT adapter drives it.
import { EnergyEndpointer } from "../../audio/EnergyEndpointer.ts"

export type SegmentEvent =
  | { readonly _tag: "Started" }
  /** `pcm` is everything to transcribe (pre-roll included); `speechMs` 0 means nothing was said. */
  | { readonly _tag: "Ended"; readonly pcm: Uint8Array; readonly speechMs: number }

export interface SegmenterOptions {
  readonly speechThreshold: number
  readonly endSilenceMs: number
  /** Audio kept from just before speech was detected. */
  readonly preRollMs: number
  /** An utterance this long is ended even if the speaker has not paused (bounds memory and upload size). */
  readonly maxUtteranceMs: number
}

interface Frame {
  readonly pcm: Uint8Array
  readonly ms: number
}

const concat = (frames: ReadonlyArray<Frame>): Uint8Array => {
  const out = new Uint8Array(frames.reduce((n, f) => n + f.pcm.byteLength, 0))
  let offset = 0
  for (const f of frames) {
    out.set(f.pcm, offset)
    offset += f.pcm.byteLength
  }
  return out
}

export class UtteranceSegmenter {
  private readonly options: SegmenterOptions
  private readonly endpointer: EnergyEndpointer
  /** Recent audio while nobody speaks (at most preRollMs), then the utterance in progress. */
  private frames: Array<Frame> = []
  private framesMs = 0
  /** Utterances ended by silence since the last commit: a commit right after one adds nothing. */
  private endedSinceCommit = 0

  constructor(options: SegmenterOptions) {
    this.options = options
    this.endpointer = new EnergyEndpointer({ threshold: options.speechThreshold, endSilenceMs: options.endSilenceMs })
  }

  /** Feeds one audio frame of `ms` milliseconds. */
  audio(pcm: Uint8Array, ms: number): ReadonlyArray<SegmentEvent> {
    const wasSpeaking = this.endpointer.speaking
    const event = this.endpointer.push(pcm, ms)
    this.frames.push({ pcm, ms })
    this.framesMs += ms
    if (event === "speech_started") return [{ _tag: "Started" }]
    if (event === "speech_ended" || (wasSpeaking && this.framesMs >= this.options.maxUtteranceMs)) {
      this.endedSinceCommit++
      return [this.end()]
    }
    if (!this.endpointer.speaking) this.trimPreRoll()
    return []
  }

  /** The client says the utterance is over: ends it now (empty when nothing was said), unless it just ended. */
  commit(): ReadonlyArray<SegmentEvent> {
    const redundant = !this.endpointer.speaking && this.endedSinceCommit > 0
    this.endedSinceCommit = 0
    if (redundant) return []
    if (!this.endpointer.speaking) {
      this.frames = []
      this.framesMs = 0
      this.endpointer.reset()
      return [{ _tag: "Ended", pcm: new Uint8Array(0), speechMs: 0 }]
    }
    return [this.end()]
  }

  private end(): SegmentEvent {
    const pcm = concat(this.frames)
    this.frames = []
    this.framesMs = 0
    return { _tag: "Ended", pcm, speechMs: this.endpointer.reset() }
  }

  private trimPreRoll(): void {
    while (this.frames.length > 0 && this.framesMs - this.frames[0]!.ms >= this.options.preRollMs) {
      this.framesMs -= this.frames.shift()!.ms
    }
  }
}

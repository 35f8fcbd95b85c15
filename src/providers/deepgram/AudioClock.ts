// When each moment of the audio was sent: maps a position in the audio (Deepgram reports word times in audio seconds)
// to the Clock time its frame went out, so the end of speech can be dated and the STT latency measured from it.

/** Frames remembered: 30 s of 20 ms frames is plenty for any endpointing delay. */
const MaxFrames = 1500

export class AudioClock {
  private readonly ends: Array<number> = []
  private readonly sentAt: Array<number> = []
  private audioMs = 0

  /** A frame of `ms` milliseconds of audio was sent at Clock time `at`. */
  sent(ms: number, at: number): void {
    this.audioMs += ms
    this.ends.push(this.audioMs)
    this.sentAt.push(at)
    if (this.ends.length > MaxFrames) {
      this.ends.shift()
      this.sentAt.shift()
    }
  }

  /** The Clock time the frame holding audio position `positionMs` was sent, if it is still remembered. */
  timeOf(positionMs: number): number | undefined {
    for (let i = 0; i < this.ends.length; i++) if (this.ends[i]! >= positionMs) return this.sentAt[i]
    return undefined
  }
}

// Finds speech by audio energy and its end by a stretch of silence, measured in audio time (not wall-clock time), so
// a client sending faster or slower than real time gets the same answer. Used by the mock STT and by STT adapters
// whose provider has no endpointing of its own.
import { rms } from "./Pcm.ts"

export type EndpointEvent = "speech_started" | "speech_ended"

export class EnergyEndpointer {
  private readonly threshold: number
  private readonly endSilenceMs: number
  private inSpeech = false
  private silenceMs = 0
  /** Milliseconds of speech in the utterance in progress. */
  speechMs = 0

  constructor(options: { readonly threshold: number; readonly endSilenceMs: number }) {
    this.threshold = options.threshold
    this.endSilenceMs = options.endSilenceMs
  }

  get speaking(): boolean {
    return this.inSpeech
  }

  /** Feeds one frame of `ms` milliseconds; says when speech starts or (after enough silence) ends. */
  push(pcm: Uint8Array, ms: number): EndpointEvent | undefined {
    if (rms(pcm) >= this.threshold) {
      this.silenceMs = 0
      this.speechMs += ms
      if (this.inSpeech) return undefined
      this.inSpeech = true
      return "speech_started"
    }
    if (!this.inSpeech) return undefined
    this.silenceMs += ms
    if (this.silenceMs < this.endSilenceMs) return undefined
    this.inSpeech = false
    return "speech_ended"
  }

  /** Starts the next utterance: returns the speech length of the one that ended. */
  reset(): number {
    const heard = this.speechMs
    this.inSpeech = false
    this.silenceMs = 0
    this.speechMs = 0
    return heard
  }
}

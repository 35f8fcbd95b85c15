// Turns Deepgram's live messages into the STT port's utterances: SpeechStarted once per utterance, Partials with the
// text so far, and on the end of an utterance SpeechEnded + one Final. Pure state, no I/O; DeepgramStt feeds it.
//
// An utterance ends at a final result with speech_final (when it has text), at UtteranceEnd (when it has text), at a
// final result from a Finalize (always after a Commit, so a commit without speech gives an empty Final; otherwise
// only with text), when a Finalize got no answer in time, and at the stream's clean end (when it has text or a commit
// waits). Final.text is the utterance's final results joined; audioMs spans its results that carried words (from the
// earliest start to the latest start + duration, in the stream's audio time), or, for an utterance without words,
// the final results it received.
import type { SttEvent } from "../../pipeline/Stt.ts"
import type { ListenMessage, ListenResults } from "./messages.ts"

interface Span {
  start: number
  end: number
}

const widen = (span: Span | undefined, result: ListenResults): Span => {
  const start = result.start
  const end = result.start + result.duration
  return span === undefined ? { start, end } : { start: Math.min(span.start, start), end: Math.max(span.end, end) }
}

const textOf = (result: ListenResults): string => (result.channel.alternatives[0]?.transcript ?? "").trim()

export class Utterances {
  private finals: Array<string> = []
  private interim = ""
  private started = false
  private lastPartial = ""
  private wordSpan: Span | undefined = undefined
  private finalSpan: Span | undefined = undefined
  private commitPending = false
  private endedSinceCommit = 0

  /** A Commit is waiting for Deepgram's answer to its Finalize. */
  get awaitingFinalize(): boolean {
    return this.commitPending
  }

  onMessage(message: ListenMessage): Array<SttEvent> {
    switch (message.type) {
      case "SpeechStarted":
        if (this.started) return []
        this.started = true
        return [{ _tag: "SpeechStarted" }]
      case "Results":
        return this.onResults(message)
      case "UtteranceEnd":
        return this.hasText() ? this.end() : []
      default:
        return []
    }
  }

  /**
   * The client committed. Returns whether a Finalize answer is now awaited: not when the commit follows an utterance
   * that already ended and nothing was heard since (it adds nothing).
   */
  onCommit(): boolean {
    const redundant = !this.hasText() && !this.started && this.endedSinceCommit > 0
    this.endedSinceCommit = 0
    this.commitPending = !redundant
    return this.commitPending
  }

  /** Deepgram did not answer a Finalize in time: end the utterance with what is known. */
  onFinalizeTimeout(): Array<SttEvent> {
    return this.commitPending ? this.end() : []
  }

  /** The stream ended cleanly: whatever was heard, or a commit still waiting, becomes a last utterance. */
  onClose(): Array<SttEvent> {
    return this.hasText() || this.commitPending ? this.end() : []
  }

  private onResults(result: ListenResults): Array<SttEvent> {
    const text = textOf(result)
    if (text.length > 0) this.wordSpan = widen(this.wordSpan, result)
    if (result.is_final !== true) {
      this.interim = text
      return this.partial()
    }
    this.interim = ""
    this.finalSpan = widen(this.finalSpan, result)
    if (text.length > 0) this.finals.push(text)
    const ends =
      (result.speech_final === true && this.finals.length > 0) ||
      (result.from_finalize === true && (this.commitPending || this.finals.length > 0))
    return ends ? this.end() : this.partial()
  }

  private hasText(): boolean {
    return this.finals.length > 0 || this.interim.length > 0
  }

  private textSoFar(): string {
    return [...this.finals, this.interim].filter((t) => t.length > 0).join(" ")
  }

  private partial(): Array<SttEvent> {
    const text = this.textSoFar()
    if (text.length === 0 || text === this.lastPartial) return []
    this.lastPartial = text
    return [{ _tag: "Partial", text }]
  }

  /** Audio position (ms) where the last ended utterance's words ended, for dating the end of speech. */
  lastEndAudioMs: number | undefined = undefined

  private end(): Array<SttEvent> {
    const span = this.wordSpan ?? this.finalSpan
    this.lastEndAudioMs = span === undefined ? undefined : span.end * 1000
    const audioMs = span === undefined ? 0 : Math.max(0, Math.round((span.end - span.start) * 1000))
    const text = this.textSoFar()
    this.finals = []
    this.interim = ""
    this.started = false
    this.lastPartial = ""
    this.wordSpan = undefined
    this.finalSpan = undefined
    this.commitPending = false
    this.endedSinceCommit++
    return [{ _tag: "SpeechEnded" }, { _tag: "Final", text, audioMs }]
  }
}

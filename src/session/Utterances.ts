// Which turn each speech event belongs to. Utterances end (SpeechEnded or input.commit) in order and their finals
// come back in the same order, possibly after the next utterance has started: ended ones wait in a FIFO for their
// final while a new one is being heard.
//
// STT events carry no utterance id, so a partial is given to the utterance being heard, or, when none is, to the
// oldest one waiting for its final (as OpenAI's transcription deltas arrive after the end of speech).

interface Ended {
  readonly turn: number
  readonly endedAt: number
}

export class Utterances {
  private readonly nextTurn: () => number
  private current: number | undefined = undefined
  private readonly awaiting: Array<Ended> = []

  constructor(nextTurn: () => number) {
    this.nextTurn = nextTurn
  }

  /** True while speech is being heard (started and not yet ended). */
  get hearing(): boolean {
    return this.current !== undefined
  }

  /** The oldest utterance waiting for its final transcript, if any. */
  get oldestAwaiting(): Ended | undefined {
    return this.awaiting[0]
  }

  speechStarted(): number {
    this.current ??= this.nextTurn()
    return this.current
  }

  partial(): number {
    return this.current ?? this.awaiting[0]?.turn ?? this.speechStarted()
  }

  /** The utterance being heard has ended at `now`; true when it is now the oldest waiting for a final. */
  speechEnded(now: number): boolean {
    if (this.current === undefined) return false
    this.awaiting.push({ turn: this.current, endedAt: now })
    this.current = undefined
    return this.awaiting.length === 1
  }

  /** A final transcript arrived: it belongs to the oldest waiting utterance, else to the one being heard. */
  final(): { readonly turn: number | undefined; readonly endedAt: number | undefined } {
    const ended = this.awaiting.shift()
    if (ended !== undefined) return ended
    const turn = this.current
    this.current = undefined
    return { turn, endedAt: undefined }
  }

  /** The oldest waiting utterance got no final in time: it is dropped. */
  timedOut(): number | undefined {
    return this.awaiting.shift()?.turn
  }

  /** The STT failed: every utterance in progress is lost; returns their turns, oldest first. */
  abandonAll(): ReadonlyArray<number> {
    const turns = [...this.awaiting.map((u) => u.turn), ...(this.current === undefined ? [] : [this.current])]
    this.awaiting.length = 0
    this.current = undefined
    return turns
  }
}

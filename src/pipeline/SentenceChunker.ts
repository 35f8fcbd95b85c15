// Cuts a stream of LLM text deltas into sentences, so each can go to TTS as soon as it is complete.
import { Array as Arr, Cause, Effect, Pull, Stream } from "effect"

/** Words whose trailing period does not end a sentence. */
const Abbreviations = new Set([
  "mr",
  "mrs",
  "ms",
  "dr",
  "prof",
  "sr",
  "jr",
  "st",
  "vs",
  "etc",
  "e.g",
  "i.e",
  "approx",
  "no",
  "u.s",
  "inc",
  "ltd",
  "co"
])

/** A sentence longer than this is cut at its last comma or space, so TTS never waits on a run-on reply. */
export const MaxSentenceLength = 240

const isTerminator = (ch: string) => ch === "." || ch === "!" || ch === "?" || ch === "…"
const isClosing = (ch: string) => ch === '"' || ch === "'" || ch === ")" || ch === "”" || ch === "’"

/** Incremental sentence splitter: push deltas, take the sentences they completed, flush the rest at the end. */
export class SentenceChunker {
  private buffer = ""

  push(delta: string): Array<string> {
    this.buffer += delta
    const sentences: Array<string> = []
    let start = 0
    for (let i = 0; i < this.buffer.length; i++) {
      const ch = this.buffer[i]!
      if (ch === "\n") {
        this.take(sentences, start, i + 1)
        start = i + 1
        continue
      }
      if (!isTerminator(ch)) continue
      let end = i + 1
      while (end < this.buffer.length && (isTerminator(this.buffer[end]!) || isClosing(this.buffer[end]!))) end++
      // A boundary needs what follows to be known: whitespace after it. At the end of the buffer, wait for more.
      if (end >= this.buffer.length) break
      if (!/\s/.test(this.buffer[end]!)) continue
      if (ch === "." && this.isAbbreviation(start, i)) continue
      this.take(sentences, start, end)
      start = end
      i = end - 1
    }
    this.buffer = this.buffer.slice(start)
    while (this.buffer.length > MaxSentenceLength) {
      const cut = cutPoint(this.buffer)
      this.take(sentences, 0, cut)
      this.buffer = this.buffer.slice(cut)
    }
    return sentences
  }

  /** The text left after the last boundary, if any; the chunker is empty afterwards. */
  flush(): string | undefined {
    const rest = this.buffer.trim()
    this.buffer = ""
    return rest.length > 0 ? rest : undefined
  }

  private take(into: Array<string>, from: number, to: number) {
    let sentence = this.buffer.slice(from, to).trim()
    // The same cut as for a run-on buffer, so the result does not depend on how the text was chunked.
    while (sentence.length > MaxSentenceLength) {
      const cut = cutPoint(sentence)
      into.push(sentence.slice(0, cut).trim())
      sentence = sentence.slice(cut).trim()
    }
    if (sentence.length > 0) into.push(sentence)
  }

  private isAbbreviation(start: number, dot: number): boolean {
    const before = this.buffer.slice(start, dot)
    const word = /([A-Za-z.]+)$/.exec(before)?.[1]?.toLowerCase()
    if (word === undefined) return false
    return Abbreviations.has(word) || /^[a-z]$/.test(word)
  }
}

/** Where to cut text longer than MaxSentenceLength: its last comma in the second half, else its last space. */
const cutPoint = (text: string): number => {
  const window = text.slice(0, MaxSentenceLength)
  const comma = window.lastIndexOf(", ")
  if (comma > MaxSentenceLength / 2) return comma + 1
  const space = window.lastIndexOf(" ")
  return space > 0 ? space : MaxSentenceLength
}

/**
 * Stream form: input in, whole sentences out (the last one flushed when the input ends). `toDeltas` turns each chunk
 * (array) of input into the text deltas to cut, effectfully (the reply sends them to the client on the way): one step
 * per chunk of input, where a filter, an effect and an inner stream per delta cost a trip through each.
 */
export const chunkSentencesWith = <A, E, R, R2>(
  input: Stream.Stream<A, E, R>,
  toDeltas: (chunk: Arr.NonEmptyReadonlyArray<A>) => Effect.Effect<ReadonlyArray<string>, never, R2>
): Stream.Stream<string, E, R | R2> =>
  Stream.transformPull(input, (pull) =>
    Effect.sync(() => {
      const chunker = new SentenceChunker()
      let ended = false
      const sentencesOf = (deltas: ReadonlyArray<string>) => {
        const sentences: Array<string> = []
        for (const delta of deltas) for (const sentence of chunker.push(delta)) sentences.push(sentence)
        return Arr.isArrayNonEmpty(sentences) ? Effect.succeed(sentences) : next
      }
      // Built once and run for every pull: an effect is a description, reusable.
      const step = Effect.flatMap(
        Pull.catchDone(pull, () => Effect.undefined),
        (chunk): Pull.Pull<Arr.NonEmptyReadonlyArray<string>, E, void, R2> => {
          if (chunk !== undefined) return Effect.flatMap(toDeltas(chunk), sentencesOf)
          ended = true
          const rest = chunker.flush()
          return rest === undefined ? Cause.done() : Effect.succeed(Arr.of(rest))
        }
      )
      const next: Pull.Pull<Arr.NonEmptyReadonlyArray<string>, E, void, R2> = Effect.suspend(() =>
        ended ? Cause.done() : step
      )
      return next
    })
  )

/** Deltas in, whole sentences out (the last one flushed when the deltas end). */
export const chunkSentences = <E, R>(deltas: Stream.Stream<string, E, R>): Stream.Stream<string, E, R> =>
  chunkSentencesWith(deltas, Effect.succeed)

// SentenceChunker (src/pipeline/SentenceChunker.ts): LLM deltas in, whole sentences out.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { chunkSentences, MaxSentenceLength, SentenceChunker } from "../../src/pipeline/SentenceChunker.ts"

/** Pushes every delta, then flushes; returns everything that came out, in order. */
const chunkAll = (deltas: ReadonlyArray<string>): Array<string> => {
  const chunker = new SentenceChunker()
  const out: Array<string> = []
  for (const delta of deltas) out.push(...chunker.push(delta))
  const rest = chunker.flush()
  if (rest !== undefined) out.push(rest)
  return out
}

const charByChar = (text: string) => chunkAll(Array.from(text))
const inOnePiece = (text: string) => chunkAll([text])

/** Splits text into deltas of `size` characters, like an LLM streaming small tokens. */
const inPiecesOf = (text: string, size: number) => {
  const pieces: Array<string> = []
  for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size))
  return pieces
}

const words = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}${i}`).join(" ")

describe("SentenceChunker.push / flush", () => {
  it("assembles sentences split across many small deltas", () => {
    const chunker = new SentenceChunker()
    const deltas = ["Bit", "coin ", "is ", "up", " to", "day", ". ", "Eth", "er is ", "down."]
    const seen: Array<Array<string>> = deltas.map((d) => chunker.push(d))
    assert.deepStrictEqual(seen.flat(), ["Bitcoin is up today."])
    // The first sentence comes out as soon as the whitespace after its period arrives, not before.
    assert.deepStrictEqual(seen.slice(0, 6).flat(), [])
    assert.deepStrictEqual(seen[6], ["Bitcoin is up today."])
    assert.strictEqual(chunker.flush(), "Ether is down.")
  })

  it('ends sentences at "?", "!" and "..." (and the ellipsis character)', () => {
    assert.deepStrictEqual(inOnePiece("Is it up? Yes it is! Well... maybe. Hmm… fine. "), [
      "Is it up?",
      "Yes it is!",
      "Well...",
      "maybe.",
      "Hmm…",
      "fine."
    ])
  })

  it("keeps runs of terminators together (?! and !!!)", () => {
    assert.deepStrictEqual(inOnePiece("Really?! Wow!!! Ok. "), ["Really?!", "Wow!!!", "Ok."])
  })

  it('does not split a decimal number like "97,250.12 USD"', () => {
    assert.deepStrictEqual(inOnePiece("Bitcoin trades at 97,250.12 USD right now. Ether is 3,120.5 USD. "), [
      "Bitcoin trades at 97,250.12 USD right now.",
      "Ether is 3,120.5 USD."
    ])
  })

  it("does not split a decimal number whose period arrives at the end of a delta", () => {
    assert.deepStrictEqual(chunkAll(["It is 97,250.", "12 USD. ", "Done"]), ["It is 97,250.12 USD.", "Done"])
  })

  it('does not split after abbreviations ("Dr. Smith", "e.g. this", "Mr.", "vs.")', () => {
    assert.deepStrictEqual(
      inOnePiece("Dr. Smith says e.g. this works. Mr. Jones vs. Ms. Lee is next. I.e. the U.S. market. "),
      ["Dr. Smith says e.g. this works.", "Mr. Jones vs. Ms. Lee is next.", "I.e. the U.S. market."]
    )
  })

  it('does not split after a single-letter initial ("J. Powell")', () => {
    assert.deepStrictEqual(inOnePiece("Fed chair J. Powell spoke. Markets moved. "), [
      "Fed chair J. Powell spoke.",
      "Markets moved."
    ])
  })

  it("waits for more input when a terminator is at the very end of the buffer; flush returns it", () => {
    const chunker = new SentenceChunker()
    assert.deepStrictEqual(chunker.push("Bitcoin is up."), [])
    assert.strictEqual(chunker.flush(), "Bitcoin is up.")
    assert.strictEqual(chunker.flush(), undefined, "flush empties the chunker")
  })

  it("a terminator at the end of one delta becomes a boundary when the next delta starts with a space", () => {
    const chunker = new SentenceChunker()
    assert.deepStrictEqual(chunker.push("Bitcoin is up."), [])
    assert.deepStrictEqual(chunker.push(" Ether"), ["Bitcoin is up."])
    assert.strictEqual(chunker.flush(), "Ether")
  })

  it("a period followed by a non-space is not a boundary (e.g. a domain name)", () => {
    assert.deepStrictEqual(inOnePiece("See coingecko.com for prices. "), ["See coingecko.com for prices."])
  })

  it("keeps closing quotes and parentheses with their sentence", () => {
    assert.deepStrictEqual(inOnePiece("He said \"buy.\" Then (as usual.) she sold. 'Hold!' It fell. "), [
      'He said "buy."',
      "Then (as usual.)",
      "she sold.",
      "'Hold!'",
      "It fell."
    ])
  })

  it("keeps curly closing quotes with their sentence", () => {
    assert.deepStrictEqual(inOnePiece("She said “sell.” He said ‘hold.’ Ok. "), [
      "She said “sell.”",
      "He said ‘hold.’",
      "Ok."
    ])
  })

  it("waits when a closing quote is at the very end of the buffer", () => {
    const chunker = new SentenceChunker()
    assert.deepStrictEqual(chunker.push('He said "buy."'), [])
    assert.deepStrictEqual(chunker.push(" Next"), ['He said "buy."'])
  })

  it("ends a sentence at a newline, even without a terminator, and drops blank lines", () => {
    const chunker = new SentenceChunker()
    assert.deepStrictEqual(chunker.push("Prices\n\n- BTC 97,250 USD\n- ETH"), ["Prices", "- BTC 97,250 USD"])
    assert.strictEqual(chunker.flush(), "- ETH")
  })

  it("a newline after a terminator yields the sentence once", () => {
    assert.deepStrictEqual(inOnePiece("First line.\nSecond line.\n"), ["First line.", "Second line."])
  })

  it("trims whitespace around sentences", () => {
    assert.deepStrictEqual(inOnePiece("   Hello there.    General Kenobi.   "), ["Hello there.", "General Kenobi."])
  })

  it("cuts a run-on text over MaxSentenceLength at a comma in the second half of the window", () => {
    const first = words("alpha", 30) // well past MaxSentenceLength / 2 characters
    const text = `${first}, ${words("beta", 30)}`
    assert.isAbove(first.length, MaxSentenceLength / 2)
    assert.isBelow(first.length, MaxSentenceLength)
    assert.isAbove(text.length, MaxSentenceLength)
    const chunker = new SentenceChunker()
    const out = chunker.push(text)
    assert.deepStrictEqual(out, [`${first},`])
    assert.strictEqual(chunker.flush(), words("beta", 30))
  })

  it("cuts a run-on text at the last space when its only comma is in the first half", () => {
    const text = `Well, ${words("w", 80)}`
    assert.isAbove(text.length, MaxSentenceLength)
    const chunker = new SentenceChunker()
    const out = chunker.push(text)
    assert.strictEqual(out.length, 1)
    const piece = out[0]!
    assert.isAtMost(piece.length, MaxSentenceLength)
    assert.isAbove(piece.length, MaxSentenceLength - 10, "cut near the limit, not at the early comma")
    assert.isTrue(text.startsWith(piece))
    assert.strictEqual(text[piece.length], " ", "cut at a space, so no word is split")
    assert.strictEqual(`${piece} ${chunker.flush()}`, text)
  })

  it("cuts a run-on text without any space at MaxSentenceLength characters", () => {
    const text = "x".repeat(MaxSentenceLength * 2 + 10)
    const chunker = new SentenceChunker()
    assert.deepStrictEqual(chunker.push(text), ["x".repeat(MaxSentenceLength), "x".repeat(MaxSentenceLength)])
    assert.strictEqual(chunker.flush(), "x".repeat(10))
  })

  it("a run-on text streamed in small deltas never yields a piece over MaxSentenceLength and loses no words", () => {
    const text = `${words("token", 150)}.`
    const out = chunkAll(inPiecesOf(text, 7))
    assert.isAbove(out.length, 2)
    for (const piece of out) assert.isAtMost(piece.length, MaxSentenceLength)
    assert.strictEqual(out.join(" "), text)
  })

  it("a text exactly MaxSentenceLength long is not cut", () => {
    const text = "y".repeat(MaxSentenceLength)
    const chunker = new SentenceChunker()
    assert.deepStrictEqual(chunker.push(text), [])
    assert.strictEqual(chunker.flush(), text)
  })

  it("flush on an empty chunker (or one holding only whitespace) returns undefined", () => {
    assert.strictEqual(new SentenceChunker().flush(), undefined)
    const chunker = new SentenceChunker()
    chunker.push("  \n ")
    assert.strictEqual(chunker.flush(), undefined)
  })

  it("flush resets the chunker so it can be reused", () => {
    const chunker = new SentenceChunker()
    chunker.push("Leftover")
    assert.strictEqual(chunker.flush(), "Leftover")
    assert.deepStrictEqual(chunker.push("Fresh start. Next"), ["Fresh start."])
    assert.strictEqual(chunker.flush(), "Next")
  })

  const samples = [
    "Bitcoin is trading at 97,250.12 USD, down 1.8% today. Dr. Smith, e.g. the analyst, says hold! Is that wise? Maybe... " +
      'Ether is at 3,120.50 USD (up 2.1%.) He said "wait." Then\nnews: ETF inflows hit a high',
    "Short. Another one! And a question? Yes.",
    "No terminator at all in this one",
    "Line one\nLine two\n\nLine three.",
    // A run-on reply with no sentence boundary after it. (Known issue: when one delta holds a run-on sentence AND its
    // terminator, push() returns it uncut, longer than MaxSentenceLength, unlike char-by-char; so no such sample here.)
    `Then a short one. Run-on ${words("run", 70)}, and more ${words("on", 20)}`
  ]

  it.each(samples.map((text, i) => [i, text] as const))(
    "sample %i gives the same sentences char-by-char, in small pieces and in one piece",
    (_i, text) => {
      const whole = inOnePiece(text)
      assert.isAbove(whole.length, 0)
      assert.deepStrictEqual(charByChar(text), whole)
      assert.deepStrictEqual(chunkAll(inPiecesOf(text, 3)), whole)
      assert.deepStrictEqual(chunkAll(inPiecesOf(text, 11)), whole)
    }
  )

  it("the first sample splits where expected", () => {
    assert.deepStrictEqual(charByChar(samples[0]!), [
      "Bitcoin is trading at 97,250.12 USD, down 1.8% today.",
      "Dr. Smith, e.g. the analyst, says hold!",
      "Is that wise?",
      "Maybe...",
      "Ether is at 3,120.50 USD (up 2.1%.)",
      'He said "wait."',
      "Then",
      "news: ETF inflows hit a high"
    ])
  })
})

describe("SentenceChunker long sentences", () => {
  it("a long sentence that ends with a terminator is cut the same way however the text arrives", () => {
    const text = `${words("w", 60)}. Short one. `
    const whole = inOnePiece(text)
    assert.deepStrictEqual(whole, charByChar(text))
    assert.deepStrictEqual(whole, chunkAll(inPiecesOf(text, 7)))
    assert.isTrue(
      whole.every((s) => s.length <= MaxSentenceLength),
      `lengths ${whole.map((s) => s.length)}`
    )
    assert.strictEqual(whole.at(-1), "Short one.")
    assert.strictEqual(whole.join(" "), text.trim())
  })
})

describe("chunkSentences (Stream form)", () => {
  it.effect("yields the same sentences as the chunker, then the unterminated rest", () =>
    Effect.gen(function* () {
      const text = "Bitcoin is at 97,250.12 USD. Dr. Smith says hold! Is that wise? The rest is unfinished"
      const out = yield* Stream.runCollect(chunkSentences(Stream.fromIterable(inPiecesOf(text, 4))))
      assert.deepStrictEqual(Array.from(out), [
        "Bitcoin is at 97,250.12 USD.",
        "Dr. Smith says hold!",
        "Is that wise?",
        "The rest is unfinished"
      ])
      assert.deepStrictEqual(Array.from(out), inOnePiece(text))
    })
  )

  it.effect("flushes a terminated last sentence that had no trailing whitespace", () =>
    Effect.gen(function* () {
      const out = yield* Stream.runCollect(chunkSentences(Stream.make("One. ", "Two.")))
      assert.deepStrictEqual(Array.from(out), ["One.", "Two."])
    })
  )

  it.effect("an empty or whitespace-only stream yields nothing", () =>
    Effect.gen(function* () {
      assert.deepStrictEqual(Array.from(yield* Stream.runCollect(chunkSentences(Stream.empty))), [])
      assert.deepStrictEqual(Array.from(yield* Stream.runCollect(chunkSentences(Stream.make(" ", "\n")))), [])
    })
  )

  it.effect("each run of the stream gets its own chunker (no state leaks between runs)", () =>
    Effect.gen(function* () {
      const stream = chunkSentences(Stream.make("Hello there. Unfinished"))
      const first = yield* Stream.runCollect(stream)
      const second = yield* Stream.runCollect(stream)
      assert.deepStrictEqual(Array.from(first), ["Hello there.", "Unfinished"])
      assert.deepStrictEqual(Array.from(second), Array.from(first))
    })
  )

  it.effect("propagates an upstream failure after the sentences already completed", () =>
    Effect.gen(function* () {
      const emitted: Array<string> = []
      const error = yield* chunkSentences(
        Stream.concat(Stream.make("Done. Not done"), Stream.fail("llm broke" as const))
      ).pipe(
        Stream.runForEach((s) => Effect.sync(() => emitted.push(s))),
        Effect.flip
      )
      assert.strictEqual(error, "llm broke")
      assert.deepStrictEqual(emitted, ["Done."])
    })
  )
})

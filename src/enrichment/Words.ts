// Splits text into words the way asset detection and headline matching compare them: accents folded, case and
// punctuation ignored ("B.T.C." is three words b, t, c; "bitcoin's" is bitcoin, s), keeping what the raw word looked
// like (its capitals, a leading "$") for the cues that need it.

export interface Word {
  /** Lowercase, accents removed: what aliases are compared with. */
  readonly text: string
  /** As written (accents removed), for the capitals cue. */
  readonly raw: string
  /** Written with a leading "$", as in "$LINK". */
  readonly dollar: boolean
}

const WordPattern = /(\$?)([\p{L}\p{N}]+)/gu

const foldAccents = (text: string) => text.normalize("NFKD").replace(/\p{M}+/gu, "")

/** The words of `text`, in order. */
export const words = (text: string): ReadonlyArray<Word> => {
  const out: Array<Word> = []
  for (const match of foldAccents(text).matchAll(WordPattern)) {
    const raw = match[2] ?? ""
    out.push({ text: raw.toLowerCase(), raw, dollar: match[1] === "$" })
  }
  return out
}

/** The words' lowercase forms joined by single spaces: "Bit-Coin!" → "bit coin". */
export const normalizePhrase = (text: string): string =>
  words(text)
    .map((w) => w.text)
    .join(" ")

/** True when the text has at least one lowercase letter (so a word in capitals stands out as a ticker). */
export const hasLowercase = (text: string): boolean => /\p{Ll}/u.test(text)

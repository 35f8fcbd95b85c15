// Cleans the text of a feed's title or summary for the prompt: HTML tags removed, the common HTML entities decoded
// (feeds often put escaped or CDATA-wrapped HTML in titles), whitespace collapsed, length capped.

const Named: Readonly<Record<string, string>> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: " ",
  ndash: "–",
  mdash: "—",
  lsquo: "‘",
  rsquo: "’",
  ldquo: "“",
  rdquo: "”",
  hellip: "…"
}

const codePoint = (n: number) => (Number.isInteger(n) && n > 0 && n <= 0x10ffff ? String.fromCodePoint(n) : "")

export const decodeEntities = (text: string): string =>
  text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, body: string) => {
    if (body[0] === "#") {
      return codePoint(body[1] === "x" || body[1] === "X" ? Number.parseInt(body.slice(2), 16) : Number(body.slice(1)))
    }
    return Named[body.toLowerCase()] ?? whole
  })

const stripTags = (text: string) => text.replace(/<[^>]*>/g, " ")

/** Plain, single-line text of at most `max` characters (cut on a word, with an ellipsis). */
export const cleanText = (text: string, max: number): string => {
  const plain = stripTags(decodeEntities(stripTags(text)))
    .replace(/\s+/g, " ")
    .trim()
  if (plain.length <= max) return plain
  const cut = plain.slice(0, max - 1)
  const space = cut.lastIndexOf(" ")
  return `${(space > max / 2 ? cut.slice(0, space) : cut).trimEnd()}…`
}

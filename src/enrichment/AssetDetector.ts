// Finds the crypto assets a text names, in order of first mention, from the asset list: whole words only ("eth" is
// not found in "method", "sol" not in "solution"), case-, accent- and punctuation-insensitive, longest name first
// ("bitcoin cash" is Bitcoin Cash, not Bitcoin), a plural of a name of 4+ letters counts ("bitcoins"). Words that are
// also ordinary English (link, near, ton, dot…: the list's contextualAliases) count only with a cue: a price word
// within three words (price, coin, token, crypto, chart, worth…), a "$" ("$LINK"), or capitals in a text that is not
// all capitals ("is LINK up?"). Works on partial transcripts: a word cut short simply does not match yet.
import type { Asset, AssetCatalog } from "./AssetCatalog.ts"
import { hasLowercase, type Word, words } from "./Words.ts"

interface Pattern {
  readonly tokens: ReadonlyArray<string>
  readonly asset: Asset
  readonly contextual: boolean
}

/** Words that make a contextual alias next to them mean the asset. */
export const PriceCues: ReadonlySet<string> = new Set([
  "price",
  "prices",
  "priced",
  "pricing",
  "coin",
  "coins",
  "token",
  "tokens",
  "crypto",
  "cryptos",
  "cryptocurrency",
  "ticker",
  "chart",
  "charts",
  "trading",
  "traded",
  "worth",
  "usd",
  "usdt"
])

/** How many words on either side of a contextual alias a cue may be. */
const CueWindow = 3
/** Only the start of a very long text is read. */
const MaxChars = 4000

export interface AssetDetector {
  /** The assets named in `text`, each once, in order of first mention. */
  readonly detect: (text: string) => ReadonlyArray<Asset>
}

const patternsOf = (asset: Asset): Array<Pattern> => {
  const out: Array<Pattern> = []
  const add = (alias: string, contextual: boolean) => {
    const tokens = words(alias).map((w) => w.text)
    out.push({ tokens, asset, contextual })
    const last = tokens[tokens.length - 1]!
    // Names of four letters or more also match their plural; tickers and contextual words do not.
    if (!contextual && last.length >= 4 && !last.endsWith("s")) {
      out.push({ tokens: [...tokens.slice(0, -1), `${last}s`], asset, contextual })
    }
  }
  for (const alias of asset.aliases) add(alias, false)
  for (const alias of asset.contextualAliases) add(alias, true)
  return out
}

const isCapitals = (word: Word) =>
  word.raw.length >= 2 && /\p{L}/u.test(word.raw) && word.raw === word.raw.toUpperCase()

export const makeAssetDetector = (catalog: AssetCatalog): AssetDetector => {
  const byFirstWord = new Map<string, Array<Pattern>>()
  for (const asset of catalog.assets) {
    for (const pattern of patternsOf(asset)) {
      const first = pattern.tokens[0]!
      byFirstWord.set(first, [...(byFirstWord.get(first) ?? []), pattern])
    }
  }
  for (const list of byFirstWord.values()) list.sort((a, b) => b.tokens.length - a.tokens.length)

  const detect = (text: string): ReadonlyArray<Asset> => {
    const source = text.slice(0, MaxChars)
    const ws = words(source)
    const capitalsStandOut = hasLowercase(source)
    const matchesAt = (pattern: Pattern, at: number) => pattern.tokens.every((token, k) => ws[at + k]?.text === token)
    const hasCue = (at: number, length: number) => {
      const span = ws.slice(at, at + length)
      if (span.some((w) => w.dollar) || (capitalsStandOut && span.every(isCapitals))) return true
      const around = [...ws.slice(Math.max(0, at - CueWindow), at), ...ws.slice(at + length, at + length + CueWindow)]
      return around.some((w) => PriceCues.has(w.text))
    }
    const found = new Map<string, Asset>()
    let i = 0
    while (i < ws.length) {
      const match = (byFirstWord.get(ws[i]!.text) ?? []).find(
        (p) => matchesAt(p, i) && (!p.contextual || hasCue(i, p.tokens.length))
      )
      if (match === undefined) {
        i++
        continue
      }
      if (!found.has(match.asset.id)) found.set(match.asset.id, match.asset)
      i += match.tokens.length
    }
    return [...found.values()]
  }

  return { detect }
}

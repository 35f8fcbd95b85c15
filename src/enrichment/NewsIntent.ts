// Whether a text asks about the news or the market in general ("any crypto news?", "how is the market today?"), so
// headlines are fetched even when it names no asset. A text that names an asset always gets headlines about it.
import { words } from "./Words.ts"

const NewsWords: ReadonlySet<string> = new Set([
  "news",
  "headline",
  "headlines",
  "happening",
  "happened",
  "market",
  "markets",
  "crypto",
  "cryptos",
  "cryptocurrency",
  "cryptocurrencies"
])

export const asksForNews = (text: string): boolean => words(text.slice(0, 4000)).some((w) => NewsWords.has(w.text))

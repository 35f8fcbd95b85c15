// The few headlines a turn gets, from the items of all feeds: newest first, duplicates removed (the same link, or
// the same title in other words' case and punctuation, as syndicated stories often are), filtered to the assets
// asked about, then the first `max`. When assets were asked and no item mentions them, the answer is NO headlines
// (not general ones): a general headline next to a question about one coin reads as news about that coin.
import { DateTime } from "effect"
import type { Headline } from "../domain/Enrichment.ts"
import type { Asset } from "./AssetCatalog.ts"
import type { AssetDetector } from "./AssetDetector.ts"
import type { FeedItem } from "./FeedParser.ts"
import { normalizePhrase } from "./Words.ts"

/** A link without its fragment, tracking parameters, "www." and trailing slash, for comparing. */
export const linkKey = (url: string): string => {
  if (!URL.canParse(url)) return url
  const parsed = new URL(url)
  parsed.hash = ""
  for (const key of [...parsed.searchParams.keys()]) {
    if (/^(utm_|fbclid$|gclid$|mc_)/i.test(key)) parsed.searchParams.delete(key)
  }
  const host = parsed.host.toLowerCase().replace(/^www\./, "")
  return `${host}${parsed.pathname.replace(/\/+$/, "")}${parsed.search}`
}

export interface HeadlineRequest {
  /** The assets asked about; empty for a general question. */
  readonly assets: ReadonlyArray<Asset>
  readonly detector: AssetDetector
  readonly max: number
}

export const selectHeadlines = (items: ReadonlyArray<FeedItem>, request: HeadlineRequest): ReadonlyArray<Headline> => {
  const wanted = new Set(request.assets.map((a) => a.id))
  const seenLinks = new Set<string>()
  const seenTitles = new Set<string>()
  const out: Array<Headline> = []
  for (const item of [...items].sort((a, b) => b.publishedAtMs - a.publishedAtMs)) {
    if (out.length >= request.max) break
    const link = item.url === "" ? undefined : linkKey(item.url)
    const title = normalizePhrase(item.title)
    if ((link !== undefined && seenLinks.has(link)) || seenTitles.has(title)) continue
    if (link !== undefined) seenLinks.add(link)
    seenTitles.add(title)
    if (wanted.size > 0 && !request.detector.detect(item.matchText).some((a) => wanted.has(a.id))) continue
    out.push({
      title: item.title,
      url: item.url,
      source: item.source,
      publishedAt: DateTime.formatIso(DateTime.makeUnsafe(item.publishedAtMs))
    })
  }
  return out
}

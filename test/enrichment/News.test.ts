// News parsing and selection (src/enrichment/FeedParser.ts, Headlines.ts): RSS 2.0, Atom and RSS 1.0 feeds, titles
// cleaned of HTML and entities, items without a date dropped, broken XML and non-feeds refused; headlines newest
// first, deduplicated by link and by title, filtered to the assets asked, top N, no general headlines for an asset.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import { DefaultAssetsFile, loadAssetCatalog } from "../../src/enrichment/AssetCatalog.ts"
import { makeAssetDetector } from "../../src/enrichment/AssetDetector.ts"
import { type FeedItem, parseFeed } from "../../src/enrichment/FeedParser.ts"
import { cleanText } from "../../src/enrichment/FeedText.ts"
import { linkKey, selectHeadlines } from "../../src/enrichment/Headlines.ts"
import { renderAtom, renderRdf, renderRss } from "../fakes/RssFake.ts"

const catalog = Effect.runSync(loadAssetCatalog(DefaultAssetsFile))
const detector = makeAssetDetector(catalog)
const asset = (id: string) => catalog.byId.get(id)!

const items = (xml: string): ReadonlyArray<FeedItem> => {
  const parsed = parseFeed(xml, "fallback.example.com")
  if (Result.isFailure(parsed)) throw new Error(`expected a feed: ${parsed.failure}`)
  return parsed.success
}

describe("FeedParser", () => {
  const published = ["2026-11-10T08:00:00.000Z", "2026-11-10T10:00:00.000Z"]

  it("reads RSS 2.0: title, link, pubDate, categories, source = channel title, newest first", () => {
    const parsed = items(
      renderRss({
        format: "rss",
        title: "Coin Wire",
        items: [
          {
            title: "Older story",
            link: "https://a.example.com/1",
            publishedAt: published[0]!,
            categories: ["Bitcoin"]
          },
          { title: "Newer story", link: "https://a.example.com/2", publishedAt: published[1]! }
        ]
      })
    )
    assert.deepStrictEqual(
      parsed.map((i) => [i.title, i.url, i.source, new Date(i.publishedAtMs).toISOString()]),
      [
        ["Newer story", "https://a.example.com/2", "Coin Wire", published[1]],
        ["Older story", "https://a.example.com/1", "Coin Wire", published[0]]
      ]
    )
    assert.include(parsed[1]!.matchText, "Bitcoin")
  })

  it("reads Atom: alternate link, published/updated, category terms", () => {
    const parsed = items(
      renderAtom({
        format: "atom",
        title: "Block Times",
        items: [
          {
            title: "Solana &amp; friends",
            link: "https://b.example.com/s",
            publishedAt: published[0]!,
            categories: ["SOL"]
          }
        ]
      })
    )
    assert.strictEqual(parsed.length, 1)
    assert.strictEqual(parsed[0]!.title, "Solana & friends")
    assert.strictEqual(parsed[0]!.url, "https://b.example.com/s")
    assert.strictEqual(parsed[0]!.source, "Block Times")
    assert.strictEqual(parsed[0]!.publishedAtMs, Date.parse(published[0]!))
  })

  it("reads RSS 1.0 (RDF) with dc:date; a feed without a title is named by its host", () => {
    const parsed = items(
      renderRdf({
        format: "rdf",
        items: [{ title: "RDF story", link: "https://c.example.com/r", publishedAt: published[1]! }]
      })
    )
    assert.deepStrictEqual(
      parsed.map((i) => [i.title, i.source]),
      [["RDF story", "fallback.example.com"]]
    )
  })

  it("cleans titles: CDATA with HTML, entities, whitespace; drops items without title or date", () => {
    const parsed = items(
      renderRss({
        format: "rss",
        title: "Wire",
        items: [
          {
            title: "Bitcoin <b>hits</b> &amp; holds\n  $97k &#8212; analysts",
            cdataTitle: true,
            publishedAt: published[0]!
          },
          { title: "No date at all", link: "https://a.example.com/x" },
          { title: "   ", publishedAt: published[0]! }
        ]
      })
    )
    assert.deepStrictEqual(
      parsed.map((i) => i.title),
      ["Bitcoin hits & holds $97k — analysts"]
    )
    assert.strictEqual(parsed[0]!.url, "")
  })

  it("refuses broken XML, HTML pages and JSON instead of half-reading them", () => {
    for (const body of [
      "<rss><channel><item><title>cut off",
      "<rss><channel><item><title>x</title></channel></rss>",
      "<html><body><h1>Not a feed</h1></body></html>",
      '{"items": []}',
      ""
    ]) {
      assert.isTrue(Result.isFailure(parseFeed(body, "x")), body)
    }
  })

  it("ignores non-http links (javascript:, mailto:)", () => {
    const parsed = items(
      renderRss({
        format: "rss",
        items: [{ title: "Odd link", link: "javascript:alert(1)", publishedAt: published[0]! }]
      })
    )
    assert.strictEqual(parsed[0]!.url, "")
  })

  it("cleanText cuts long text on a word with an ellipsis", () => {
    assert.strictEqual(cleanText("alpha beta gamma delta", 12), "alpha beta…")
  })
})

describe("Headlines", () => {
  const item = (title: string, hoursAgo: number, url = "", extra = ""): FeedItem => ({
    title,
    url,
    source: "Wire",
    publishedAtMs: Date.parse("2026-11-10T12:00:00Z") - hoursAgo * 3_600_000,
    matchText: `${title} ${extra}`
  })

  const feed = [
    item("Ether fees fall", 3, "https://a.example.com/eth"),
    item("Bitcoin climbs past $97k", 1, "https://a.example.com/btc?utm_source=rss"),
    item("BITCOIN CLIMBS PAST $97K!", 1.5, "https://www.a.example.com/btc/"),
    item("Regulators publish stablecoin guidance", 2, "https://a.example.com/reg"),
    item("Miners upgrade rigs", 4, "https://a.example.com/miners", "bitcoin mining")
  ]

  it("general question: newest first, deduplicated by link and title, top N", () => {
    const headlines = selectHeadlines(feed, { assets: [], detector, max: 3 })
    assert.deepStrictEqual(
      headlines.map((h) => h.title),
      ["Bitcoin climbs past $97k", "Regulators publish stablecoin guidance", "Ether fees fall"]
    )
    assert.strictEqual(headlines[0]!.publishedAt, "2026-11-10T11:00:00.000Z")
  })

  it("asset question: only headlines that mention it (title, categories or summary)", () => {
    const headlines = selectHeadlines(feed, { assets: [asset("bitcoin")], detector, max: 3 })
    assert.deepStrictEqual(
      headlines.map((h) => h.title),
      ["Bitcoin climbs past $97k", "Miners upgrade rigs"]
    )
  })

  it("asset question with no matching headline: none, rather than general news", () => {
    assert.deepStrictEqual(selectHeadlines(feed, { assets: [asset("cardano")], detector, max: 3 }), [])
  })

  it("linkKey ignores tracking parameters, www., fragments and trailing slashes", () => {
    assert.strictEqual(linkKey("https://www.a.example.com/btc/?utm_source=x#top"), linkKey("https://a.example.com/btc"))
    assert.notStrictEqual(linkKey("https://a.example.com/btc?id=1"), linkKey("https://a.example.com/btc?id=2"))
  })
})

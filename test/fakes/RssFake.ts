// A local fake of crypto news feeds for tests and `npm run fakes`: a real HTTP server on 127.0.0.1 serving RSS 2.0,
// RSS 1.0 (RDF) and Atom feeds at paths of your choice, scriptable with faults (broken XML, 500, 429, hang…),
// recording every request.
//
//   const fake = await startRssFake()                      // "/rss" (RSS 2.0) and "/atom" (Atom) by default
//   STREAM_NEWS_FEEDS=`${fake.feedUrl("/rss")},${fake.feedUrl("/atom")}`
//   fake.setFeed("/rss", { format: "rss", title: "Coin Wire", items: [{ title: "Bitcoin…", link, publishedAt }] })
//   fake.scriptPath("/rss", { kind: "body", body: "<rss><channel><item>", contentType: "application/rss+xml" })
//   fake.requests.filter((r) => r.path === "/rss").length, fake.requests[0].userAgent
//
// Unknown paths answer 404. renderFeed (and renderRss / renderAtom / renderRdf) turn a feed into its XML, for tests
// that want the text itself.
import { type NormalAnswer, startUpstreamFake, type UpstreamFake } from "../enrichment/support/UpstreamFake.ts"

export type { RecordedRequest, UpstreamStep } from "../enrichment/support/UpstreamFake.ts"

export interface FakeFeedItem {
  readonly title: string
  readonly link?: string
  /** ISO string or Date; left out → the item has no date element. */
  readonly publishedAt?: string | Date
  readonly categories?: ReadonlyArray<string>
  readonly description?: string
  /** RSS only: wrap the title in CDATA (as many feeds do, often with HTML inside). */
  readonly cdataTitle?: boolean
}

export interface FakeFeed {
  readonly format: "rss" | "atom" | "rdf"
  readonly title?: string
  readonly items: ReadonlyArray<FakeFeedItem>
}

export const escapeXml = (text: string): string =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

const date = (value: string | Date) => (typeof value === "string" ? new Date(value) : value)

export const renderRss = (feed: FakeFeed): string => {
  const items = feed.items.map((item) =>
    [
      "<item>",
      item.cdataTitle === true ? `<title><![CDATA[${item.title}]]></title>` : `<title>${escapeXml(item.title)}</title>`,
      item.link === undefined ? "" : `<link>${escapeXml(item.link)}</link>`,
      item.link === undefined ? "" : `<guid isPermaLink="true">${escapeXml(item.link)}</guid>`,
      item.publishedAt === undefined ? "" : `<pubDate>${date(item.publishedAt).toUTCString()}</pubDate>`,
      ...(item.categories ?? []).map((c) => `<category>${escapeXml(c)}</category>`),
      item.description === undefined ? "" : `<description>${escapeXml(item.description)}</description>`,
      "</item>"
    ].join("")
  )
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:dc="http://purl.org/dc/elements/1.1/">' +
    `<channel>${feed.title === undefined ? "" : `<title>${escapeXml(feed.title)}</title>`}` +
    '<link>https://news.example.com/</link><atom:link href="https://news.example.com/rss" rel="self"/>' +
    `<description>Fake crypto news</description>${items.join("\n")}</channel></rss>`
  )
}

export const renderAtom = (feed: FakeFeed): string => {
  const entries = feed.items.map((item, i) =>
    [
      "<entry>",
      `<title type="html">${escapeXml(item.title)}</title>`,
      item.link === undefined ? "" : `<link rel="alternate" href="${escapeXml(item.link)}"/>`,
      `<id>urn:fake:${i}</id>`,
      item.publishedAt === undefined ? "" : `<published>${date(item.publishedAt).toISOString()}</published>`,
      item.publishedAt === undefined ? "" : `<updated>${date(item.publishedAt).toISOString()}</updated>`,
      ...(item.categories ?? []).map((c) => `<category term="${escapeXml(c)}"/>`),
      item.description === undefined ? "" : `<summary>${escapeXml(item.description)}</summary>`,
      "</entry>"
    ].join("")
  )
  return (
    '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">' +
    `${feed.title === undefined ? "" : `<title type="text">${escapeXml(feed.title)}</title>`}` +
    '<link rel="self" href="https://atom.example.com/feed"/><id>urn:fake:feed</id>' +
    `<updated>${new Date().toISOString()}</updated>${entries.join("\n")}</feed>`
  )
}

export const renderRdf = (feed: FakeFeed): string => {
  const items = feed.items.map((item) =>
    [
      `<item rdf:about="${escapeXml(item.link ?? "urn:none")}">`,
      `<title>${escapeXml(item.title)}</title>`,
      item.link === undefined ? "" : `<link>${escapeXml(item.link)}</link>`,
      item.publishedAt === undefined ? "" : `<dc:date>${date(item.publishedAt).toISOString()}</dc:date>`,
      "</item>"
    ].join("")
  )
  return (
    '<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" ' +
    'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">' +
    `<channel rdf:about="https://rdf.example.com/">${feed.title === undefined ? "" : `<title>${escapeXml(feed.title)}</title>`}</channel>` +
    `${items.join("\n")}</rdf:RDF>`
  )
}

export const renderFeed = (feed: FakeFeed): string =>
  feed.format === "rss" ? renderRss(feed) : feed.format === "atom" ? renderAtom(feed) : renderRdf(feed)

const hoursAgo = (hours: number) => new Date(Date.now() - hours * 3_600_000)

/** Two feeds with overlapping stories, like real syndicated news. */
export const defaultFeeds = (): Record<string, FakeFeed> => ({
  "/rss": {
    format: "rss",
    title: "Coin Wire",
    items: [
      {
        title: "Bitcoin climbs past $97,000 as ETF inflows return",
        link: "https://coinwire.example.com/btc-97k",
        publishedAt: hoursAgo(1),
        categories: ["Bitcoin", "Markets"]
      },
      {
        title: "Ether gas fees fall to a yearly low",
        link: "https://coinwire.example.com/eth-fees",
        publishedAt: hoursAgo(3),
        categories: ["Ethereum"]
      },
      {
        title: "Regulators publish new stablecoin guidance",
        link: "https://coinwire.example.com/stablecoins",
        publishedAt: hoursAgo(5)
      }
    ]
  },
  "/atom": {
    format: "atom",
    title: "Block Times",
    items: [
      {
        title: "Solana network upgrade goes live",
        link: "https://blocktimes.example.com/solana-upgrade",
        publishedAt: hoursAgo(2)
      },
      {
        title: "Bitcoin climbs past $97,000 as ETF inflows return",
        link: "https://coinwire.example.com/btc-97k?utm_source=blocktimes",
        publishedAt: hoursAgo(1.5)
      }
    ]
  }
})

export interface RssFakeOptions {
  readonly port?: number
  /** Feeds by path (default: defaultFeeds()). */
  readonly feeds?: Readonly<Record<string, FakeFeed>>
}

export interface RssFake extends UpstreamFake {
  readonly setFeed: (path: string, feed: FakeFeed) => void
  readonly removeFeed: (path: string) => void
  /** The full URL of a feed path. */
  readonly feedUrl: (path: string) => string
  /** Requests to a path so far. */
  readonly callsTo: (path: string) => number
}

const ContentTypes: Readonly<Record<FakeFeed["format"], string>> = {
  rss: "application/rss+xml; charset=utf-8",
  atom: "application/atom+xml; charset=utf-8",
  rdf: "application/rdf+xml; charset=utf-8"
}

export const startRssFake = async (options: RssFakeOptions = {}): Promise<RssFake> => {
  const feeds = new Map(Object.entries(options.feeds ?? defaultFeeds()))
  const core = await startUpstreamFake((path): NormalAnswer => {
    const feed = feeds.get(path)
    if (feed === undefined) return { status: 404, contentType: "text/plain", body: "no such feed" }
    return { status: 200, contentType: ContentTypes[feed.format], body: renderFeed(feed) }
  }, options.port)
  return {
    ...core,
    setFeed: (path, feed) => {
      feeds.set(path, feed)
    },
    removeFeed: (path) => {
      feeds.delete(path)
    },
    feedUrl: (path) => `${core.url}${path}`,
    callsTo: (path) => core.requests.filter((r) => r.path === path).length
  }
}

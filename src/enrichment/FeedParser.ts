// Reads an RSS 2.0, RSS 1.0 (RDF) or Atom feed into items with fast-xml-parser: the XML is validated first (broken
// XML is refused whole, never half-read), then the document is decoded with Schema. Items without a title or a
// readable date are dropped (a headline whose age is unknown cannot be shown with an as-of time); the rest keep
// their title (cleaned), link, publication time, source (the feed's title, else its host) and the text that asset
// matching reads (title, categories, start of the summary).
import { DateTime, Option, Result, Schema } from "effect"
import { XMLParser, XMLValidator } from "fast-xml-parser"
import { cleanText } from "./FeedText.ts"

export interface FeedItem {
  readonly title: string
  /** http(s) URL, or "" when the item has none. */
  readonly url: string
  readonly source: string
  readonly publishedAtMs: number
  /** Title, categories and the start of the summary: what asset matching reads. */
  readonly matchText: string
}

/** Items kept per feed (newest first). */
export const MaxItemsPerFeed = 50
const MaxTitleChars = 300

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  parseTagValue: false,
  parseAttributeValue: false,
  removeNSPrefix: true,
  processEntities: true,
  isArray: (name) => name === "item" || name === "entry" || name === "link" || name === "category"
})

/** Element text: a plain string, or an object with its text when the element has attributes. */
const TextNode = Schema.Union([Schema.String, Schema.Struct({ "#text": Schema.String })])
type TextNode = typeof TextNode.Type
const text = (node: TextNode | undefined): string | undefined =>
  node === undefined ? undefined : typeof node === "string" ? node : node["#text"]

const LinkNode = Schema.Union([
  Schema.String,
  Schema.Struct({ "@_href": Schema.String, "@_rel": Schema.optionalKey(Schema.String) })
])
const CategoryNode = Schema.Union([TextNode, Schema.Struct({ "@_term": Schema.String })])

const Item = Schema.Struct({
  title: TextNode,
  link: Schema.optionalKey(Schema.Array(LinkNode)),
  guid: Schema.optionalKey(TextNode),
  id: Schema.optionalKey(TextNode),
  pubDate: Schema.optionalKey(TextNode),
  date: Schema.optionalKey(TextNode),
  published: Schema.optionalKey(TextNode),
  updated: Schema.optionalKey(TextNode),
  category: Schema.optionalKey(Schema.Array(CategoryNode)),
  description: Schema.optionalKey(TextNode),
  summary: Schema.optionalKey(TextNode)
})
type Item = typeof Item.Type

const Channel = Schema.Struct({ title: Schema.optionalKey(TextNode) })
const Document = Schema.Union([
  Schema.Struct({
    rss: Schema.Struct({
      channel: Schema.Struct({ ...Channel.fields, item: Schema.optionalKey(Schema.Array(Schema.Unknown)) })
    })
  }),
  Schema.Struct({
    feed: Schema.Struct({ ...Channel.fields, entry: Schema.optionalKey(Schema.Array(Schema.Unknown)) })
  }),
  Schema.Struct({
    RDF: Schema.Struct({ channel: Schema.optionalKey(Channel), item: Schema.optionalKey(Schema.Array(Schema.Unknown)) })
  })
])
const decodeDocument = Schema.decodeUnknownResult(Document)
const decodeItem = Schema.decodeUnknownResult(Item)

const httpUrl = (value: string | undefined): string | undefined => {
  const trimmed = value?.trim()
  if (trimmed === undefined || !URL.canParse(trimmed)) return undefined
  const url = new URL(trimmed)
  return url.protocol === "http:" || url.protocol === "https:" ? url.toString() : undefined
}

const linkOf = (item: Item): string => {
  for (const link of item.link ?? []) {
    const href =
      typeof link === "string"
        ? link
        : link["@_rel"] === undefined || link["@_rel"] === "alternate"
          ? link["@_href"]
          : undefined
    const url = httpUrl(href)
    if (url !== undefined) return url
  }
  return httpUrl(text(item.guid)) ?? httpUrl(text(item.id)) ?? ""
}

const timeOf = (item: Item): number | undefined => {
  for (const node of [item.pubDate, item.date, item.published, item.updated]) {
    const value = text(node)?.trim()
    if (value === undefined || value.length === 0) continue
    const parsed = DateTime.make(value)
    if (Option.isSome(parsed)) return DateTime.toEpochMillis(parsed.value)
  }
  return undefined
}

const toFeedItem = (raw: unknown, source: string): FeedItem | undefined => {
  const decoded = decodeItem(raw)
  if (Result.isFailure(decoded)) return undefined
  const item = decoded.success
  const title = cleanText(text(item.title) ?? "", MaxTitleChars)
  const publishedAtMs = timeOf(item)
  if (title.length === 0 || publishedAtMs === undefined) return undefined
  const categories = (item.category ?? []).map((c) => (typeof c === "object" && "@_term" in c ? c["@_term"] : text(c)))
  const summary = cleanText(text(item.description) ?? text(item.summary) ?? "", 500)
  return { title, url: linkOf(item), source, publishedAtMs, matchText: [title, ...categories, summary].join(" \n ") }
}

/** The items of a feed, newest first, or why it cannot be read. `fallbackSource` names a feed without a title. */
export const parseFeed = (xml: string, fallbackSource: string): Result.Result<ReadonlyArray<FeedItem>, string> => {
  if (XMLValidator.validate(xml) !== true) return Result.fail("broken XML")
  let document: unknown
  try {
    document = parser.parse(xml)
  } catch {
    return Result.fail("unreadable XML")
  }
  const decoded = decodeDocument(document)
  if (Result.isFailure(decoded)) return Result.fail("not an RSS or Atom feed")
  const doc = decoded.success
  const [title, rawItems] =
    "rss" in doc
      ? [doc.rss.channel.title, doc.rss.channel.item]
      : "feed" in doc
        ? [doc.feed.title, doc.feed.entry]
        : [doc.RDF.channel?.title, doc.RDF.item]
  const source = cleanText(text(title) ?? "", 80) || fallbackSource
  const items = (rawItems ?? [])
    .map((raw) => toFeedItem(raw, source))
    .filter((item): item is FeedItem => item !== undefined)
    .sort((a, b) => b.publishedAtMs - a.publishedAtMs)
    .slice(0, MaxItemsPerFeed)
  return Result.succeed(items)
}

// A news feed over HTTP: GET the feed URL through its gate (rate limit, 429 backoff), then parse RSS 2.0, RSS 1.0 or
// Atom with FeedParser.ts. A non-200 answer is "unavailable", broken XML or a non-feed document is "unusable data".
import { Effect, Result } from "effect"
import { parseFeed } from "./FeedParser.ts"
import type { NewsSource } from "./NewsSource.ts"
import { SourceError } from "./SourceError.ts"
import type { SourceGate } from "./SourceGate.ts"
import type { Upstream } from "./UpstreamHttp.ts"

const Accept = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"

/** The host of a feed URL, used as its short name. */
export const feedName = (url: string): string => (URL.canParse(url) ? new URL(url).host : url)

export const makeRssNews = (url: string, upstream: Upstream, gate: SourceGate): NewsSource => {
  const name = gate.source
  const items = gate.run(
    Effect.gen(function* () {
      const response = yield* upstream.get(name, url, Accept)
      if (response.status !== 200) {
        return yield* new SourceError({
          source: name,
          reason: "unavailable",
          message: `HTTP ${response.status}`,
          status: response.status
        })
      }
      const parsed = parseFeed(response.body, name)
      if (Result.isFailure(parsed)) {
        return yield* new SourceError({ source: name, reason: "malformed", message: parsed.failure })
      }
      return parsed.success
    })
  )
  return { url, name, items }
}

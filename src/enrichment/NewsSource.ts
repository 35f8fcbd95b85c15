// The news-source port: the recent items of one feed. RssNews.ts reads RSS 2.0 / RSS 1.0 / Atom feeds over HTTP;
// Headlines.ts merges the feeds' items into the few headlines a turn gets.
import type { Effect } from "effect"
import type { FeedItem } from "./FeedParser.ts"
import type { SourceError } from "./SourceError.ts"

export interface NewsSource {
  /** The feed's URL: its identity and cache key. */
  readonly url: string
  /** Short name for logs and `missing`: the feed's host. */
  readonly name: string
  /** The feed's items, newest first. */
  readonly items: Effect.Effect<ReadonlyArray<FeedItem>, SourceError>
}

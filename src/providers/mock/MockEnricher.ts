// Mock enricher: fixed prices for the assets the text names (bitcoin, ether) and two fixed headlines,
// stamped with the Clock's time, after a configured delay.
import { Clock, DateTime, Effect, Layer } from "effect"
import type { MockSettings } from "../../config/MockSettings.ts"
import type { EnrichmentContext, PriceQuote } from "../../domain/Enrichment.ts"
import { Enricher } from "../../pipeline/Enricher.ts"

const Quotes: ReadonlyArray<{ readonly pattern: RegExp; readonly quote: Omit<PriceQuote, "asOf"> }> = [
  {
    pattern: /\b(bitcoin|btc)\b/i,
    quote: { asset: "Bitcoin", symbol: "BTC", price: 97250.12, fiat: "usd", change24hPct: 2.31, source: "mock" }
  },
  {
    pattern: /\b(ethereum|ether|eth)\b/i,
    quote: { asset: "Ethereum", symbol: "ETH", price: 3412.55, fiat: "usd", change24hPct: -0.84, source: "mock" }
  }
]

const Headlines = [
  {
    title: "Bitcoin holds steady as markets await rate decision",
    url: "https://example.com/news/1",
    source: "Mock Wire"
  },
  { title: "Ether fees fall to yearly low", url: "https://example.com/news/2", source: "Mock Wire" }
]

export const makeMockEnricher = (settings: MockSettings): Enricher["Service"] => ({
  provider: "mock",
  prime: () => Effect.void,
  enrich: (text) =>
    Effect.gen(function* () {
      yield* Effect.sleep(settings.enrichmentDelayMs)
      const asOf = DateTime.formatIso(DateTime.makeUnsafe(yield* Clock.currentTimeMillis))
      const context: EnrichmentContext = {
        prices: Quotes.filter((q) => q.pattern.test(text)).map((q) => ({ ...q.quote, asOf })),
        headlines: Headlines.map((h) => ({ ...h, publishedAt: asOf })),
        missing: []
      }
      return context
    })
})

export const layer = (settings: MockSettings) => Layer.succeed(Enricher, makeMockEnricher(settings))

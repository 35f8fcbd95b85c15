// Live-enrichment test support: the three fakes started together (and closed with the test's scope), settings read
// through readEnrichmentSettings pointing at them (then adjusted per test), the services the enricher needs, and a
// logger that keeps what was logged (to check that no user text is ever logged).
import { ConfigProvider, Effect, Layer, Logger } from "effect"
import { type EnrichmentSettings, readEnrichmentSettings } from "../../../src/config/EnrichmentSettings.ts"
import { LiveEnricherServices } from "../../../src/enrichment/EnrichmentServices.ts"
import { type BinanceFake, startBinanceFake } from "../../fakes/BinanceFake.ts"
import { type CoinGeckoFake, startCoinGeckoFake } from "../../fakes/CoinGeckoFake.ts"
import { type RssFake, startRssFake } from "../../fakes/RssFake.ts"

export interface Fakes {
  readonly coingecko: CoinGeckoFake
  readonly binance: BinanceFake
  readonly rss: RssFake
}

/** The three fakes, on free loopback ports, closed when the scope closes. */
export const fakes = Effect.acquireRelease(
  Effect.promise(async (): Promise<Fakes> => {
    const [coingecko, binance, rss] = await Promise.all([startCoinGeckoFake(), startBinanceFake(), startRssFake()])
    return { coingecko, binance, rss }
  }),
  (f) => Effect.promise(() => Promise.all([f.coingecko.close(), f.binance.close(), f.rss.close()]))
)

/** The environment that points live enrichment at the fakes. */
export const fakeEnv = (f: Fakes, extra: Record<string, string> = {}): Record<string, string> => ({
  STREAM_ENRICHMENT: "live",
  STREAM_COINGECKO_BASE_URL: f.coingecko.url,
  STREAM_BINANCE_BASE_URL: f.binance.url,
  STREAM_NEWS_FEEDS: `${f.rss.feedUrl("/rss")},${f.rss.feedUrl("/atom")}`,
  STREAM_ENRICHMENT_FETCH_TIMEOUT_MS: "1000",
  STREAM_PRICE_RATE_PER_MIN: "1000",
  STREAM_NEWS_RATE_PER_MIN: "600",
  ...extra
})

/** Settings read from `fakeEnv`, then `overrides` (which may go below the variables' minimums, for short tests). */
export const settingsFor = (f: Fakes, overrides: Partial<EnrichmentSettings> = {}, env: Record<string, string> = {}) =>
  readEnrichmentSettings.pipe(
    Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env: fakeEnv(f, env) })),
    Effect.orDie,
    Effect.map((settings): EnrichmentSettings => ({ ...settings, ...overrides }))
  )

/** Every log line's text, for asserting what is (not) logged. */
export class LogCapture {
  readonly lines: Array<string> = []
  readonly layer = Logger.layer([
    Logger.make((options) => {
      const parts = Array.isArray(options.message) ? options.message : [options.message]
      this.lines.push(parts.map((p) => (typeof p === "string" ? p : JSON.stringify(p))).join(" "))
    })
  ])
}

/** The enricher's outside services, and a quiet logger unless one is given. */
export const liveServices = (logs: LogCapture = new LogCapture()) => Layer.mergeAll(LiveEnricherServices, logs.layer)

export const sleep = (ms: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms)))

/** Polls `condition` every 10 ms until it holds or `timeoutMs` passes (real time). */
export const eventually = (condition: () => boolean, timeoutMs = 2000) =>
  Effect.promise(async () => {
    const start = Date.now()
    while (!condition()) {
      if (Date.now() - start > timeoutMs) throw new Error("condition not met in time")
      await new Promise<void>((resolve) => setTimeout(resolve, 10))
    }
  })

// A local fake of CoinGecko's public price API for tests and `npm run fakes`: a real HTTP server on 127.0.0.1 that
// answers GET /api/v3/simple/price like the real one (PROVIDERS.md), scriptable with faults, recording every request.
//
//   const fake = await startCoinGeckoFake()                       // bitcoin, ethereum, solana, dogecoin by default
//   STREAM_COINGECKO_BASE_URL=fake.url
//   fake.setCoin("bitcoin", { prices: { usd: 100000 }, change24h: { usd: -1.5 } })
//   fake.script({ kind: "status", status: 429, headers: { "retry-after": "30" } }, { kind: "ok" })
//   fake.always({ kind: "status", status: 500 })                  // down until always(undefined)
//   fake.script({ kind: "body", body: "{not json" }) · { kind: "hang" } · { kind: "ok", delayMs: 500 }
//   fake.priceCalls, fake.requests[0].query.ids, fake.requests[0].userAgent
//   await fake.close()
//
// GET /api/v3/simple/price?ids=a,b&vs_currencies=usd[,eur][&include_24hr_change=true][&include_last_updated_at=true]
//   → {"bitcoin":{"usd":97250.12,"usd_24h_change":2.31,"last_updated_at":1731000000}}; unknown ids are left out (as
//   the real API does), a missing ids or vs_currencies parameter is a 400. GET /api/v3/ping → {"gecko_says":…}.
import { json, type NormalAnswer, startUpstreamFake, type UpstreamFake } from "../enrichment/support/UpstreamFake.ts"

export type { RecordedRequest, UpstreamStep } from "../enrichment/support/UpstreamFake.ts"

export interface CoinGeckoCoin {
  /** Price by lowercase fiat code. */
  readonly prices: Readonly<Record<string, number>>
  /** 24 h change in percent by fiat code; a missing fiat sends no change field, null sends null. */
  readonly change24h?: Readonly<Record<string, number | null>>
  /** Seconds since the epoch; defaults to the time of the answer. */
  readonly lastUpdatedAt?: number
}

export const DefaultCoinGeckoCoins: Readonly<Record<string, CoinGeckoCoin>> = {
  bitcoin: { prices: { usd: 97250.12, eur: 89410.5 }, change24h: { usd: 2.31, eur: 2.05 } },
  ethereum: { prices: { usd: 3412.55, eur: 3137.2 }, change24h: { usd: -0.84, eur: -1.1 } },
  solana: { prices: { usd: 182.4, eur: 167.7 }, change24h: { usd: 5.12, eur: 4.9 } },
  dogecoin: { prices: { usd: 0.3821, eur: 0.3513 }, change24h: { usd: 11.4, eur: 11.1 } }
}

export interface CoinGeckoFakeOptions {
  readonly port?: number
  /** The coins it knows, by CoinGecko id (default: DefaultCoinGeckoCoins). */
  readonly coins?: Readonly<Record<string, CoinGeckoCoin>>
}

export interface CoinGeckoFake extends UpstreamFake {
  readonly setCoin: (id: string, coin: CoinGeckoCoin) => void
  readonly removeCoin: (id: string) => void
  /** Requests to /api/v3/simple/price so far. */
  readonly priceCalls: number
}

export const startCoinGeckoFake = async (options: CoinGeckoFakeOptions = {}): Promise<CoinGeckoFake> => {
  const coins = new Map(Object.entries(options.coins ?? DefaultCoinGeckoCoins))

  const simplePrice = (query: Readonly<Record<string, string>>): NormalAnswer => {
    const ids = (query.ids ?? "").split(",").filter((s) => s.length > 0)
    const fiats = (query.vs_currencies ?? "").split(",").filter((s) => s.length > 0)
    if (ids.length === 0 || fiats.length === 0) return json({ error: "Missing parameter ids or vs_currencies" }, 400)
    const body: Record<string, Record<string, number | null>> = {}
    for (const id of ids) {
      const coin = coins.get(id)
      if (coin === undefined) continue
      const entry: Record<string, number | null> = {}
      for (const fiat of fiats) {
        const price = coin.prices[fiat]
        if (price === undefined) continue
        entry[fiat] = price
        const change = coin.change24h?.[fiat]
        if (query.include_24hr_change === "true" && change !== undefined) entry[`${fiat}_24h_change`] = change
      }
      if (query.include_last_updated_at === "true") {
        entry.last_updated_at = coin.lastUpdatedAt ?? Math.floor(Date.now() / 1000)
      }
      body[id] = entry
    }
    return json(body)
  }

  const core = await startUpstreamFake((path, query) => {
    if (path === "/api/v3/simple/price") return simplePrice(query)
    if (path === "/api/v3/ping") return json({ gecko_says: "(V3) To the Moon!" })
    return json({ error: "Not Found" }, 404)
  }, options.port)

  return {
    ...core,
    setCoin: (id, coin) => {
      coins.set(id, coin)
    },
    removeCoin: (id) => {
      coins.delete(id)
    },
    get priceCalls() {
      return core.requests.filter((r) => r.path === "/api/v3/simple/price").length
    }
  }
}

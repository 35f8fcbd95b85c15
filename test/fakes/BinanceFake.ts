// A local fake of Binance's public 24 h ticker for tests and `npm run fakes`: a real HTTP server on 127.0.0.1 that
// answers GET /api/v3/ticker/24hr?symbol=<PAIR> like the real one (PROVIDERS.md: numbers as strings), scriptable with
// faults, recording every request.
//
//   const fake = await startBinanceFake()                 // BTCUSDT, ETHUSDT, SOLUSDT, DOGEUSDT by default
//   STREAM_BINANCE_BASE_URL=fake.url
//   fake.setTicker("BTCUSDT", { lastPrice: "97251.50000000", priceChangePercent: "2.290" })
//   fake.script({ kind: "status", status: 429, headers: { "retry-after": "60" } })   // also 418 (IP ban)
//   fake.script({ kind: "body", body: '{"symbol":"BTCUSDT"}' })                       // missing fields
//   fake.tickerCalls, fake.requests[0].query.symbol, fake.requests[0].userAgent
//
// An unknown symbol answers 400 {"code":-1121,"msg":"Invalid symbol."}, as Binance does. GET /api/v3/ping → {}.
import { json, startUpstreamFake, type UpstreamFake } from "../enrichment/support/UpstreamFake.ts"

export type { RecordedRequest, UpstreamStep } from "../enrichment/support/UpstreamFake.ts"

export interface BinanceTicker {
  /** Decimal strings, as Binance sends them. */
  readonly lastPrice: string
  readonly priceChangePercent: string
  /** Milliseconds since the epoch; defaults to the time of the answer. */
  readonly closeTime?: number
}

export const DefaultBinanceTickers: Readonly<Record<string, BinanceTicker>> = {
  BTCUSDT: { lastPrice: "97251.50000000", priceChangePercent: "2.290" },
  ETHUSDT: { lastPrice: "3411.98000000", priceChangePercent: "-0.860" },
  SOLUSDT: { lastPrice: "182.37000000", priceChangePercent: "5.100" },
  DOGEUSDT: { lastPrice: "0.38190000", priceChangePercent: "11.380" }
}

export interface BinanceFakeOptions {
  readonly port?: number
  /** The pairs it lists (default: DefaultBinanceTickers). */
  readonly tickers?: Readonly<Record<string, BinanceTicker>>
}

export interface BinanceFake extends UpstreamFake {
  readonly setTicker: (symbol: string, ticker: BinanceTicker) => void
  readonly removeTicker: (symbol: string) => void
  /** Requests to /api/v3/ticker/24hr so far. */
  readonly tickerCalls: number
}

export const startBinanceFake = async (options: BinanceFakeOptions = {}): Promise<BinanceFake> => {
  const tickers = new Map(Object.entries(options.tickers ?? DefaultBinanceTickers))

  const core = await startUpstreamFake((path, query) => {
    if (path === "/api/v3/ping") return json({})
    if (path !== "/api/v3/ticker/24hr") return json({ code: -1, msg: "Not Found" }, 404)
    const symbol = query.symbol ?? ""
    const ticker = tickers.get(symbol)
    if (ticker === undefined) return json({ code: -1121, msg: "Invalid symbol." }, 400)
    const closeTime = ticker.closeTime ?? Date.now()
    const last = Number(ticker.lastPrice)
    const open = last / (1 + Number(ticker.priceChangePercent) / 100)
    return json({
      symbol,
      priceChange: (last - open).toFixed(8),
      priceChangePercent: ticker.priceChangePercent,
      weightedAvgPrice: last.toFixed(8),
      prevClosePrice: open.toFixed(8),
      lastPrice: ticker.lastPrice,
      lastQty: "0.01000000",
      bidPrice: ticker.lastPrice,
      bidQty: "1.00000000",
      askPrice: ticker.lastPrice,
      askQty: "1.00000000",
      openPrice: open.toFixed(8),
      highPrice: Math.max(last, open).toFixed(8),
      lowPrice: Math.min(last, open).toFixed(8),
      volume: "12345.67800000",
      quoteVolume: (12345.678 * last).toFixed(8),
      openTime: closeTime - 86_400_000,
      closeTime,
      firstId: 1,
      lastId: 1000,
      count: 1000
    })
  }, options.port)

  return {
    ...core,
    setTicker: (symbol, ticker) => {
      tickers.set(symbol, ticker)
    },
    removeTicker: (symbol) => {
      tickers.delete(symbol)
    },
    get tickerCalls() {
      return core.requests.filter((r) => r.path === "/api/v3/ticker/24hr").length
    }
  }
}

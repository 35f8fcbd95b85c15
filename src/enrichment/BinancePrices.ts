// Binance's public 24 h ticker: GET /api/v3/ticker/24hr?symbol=<SYMBOL>USDT per asset (concurrently, each through
// the source's gate). Binance quotes against USDT, a dollar stablecoin, not against dollars: with STREAM_FIAT=usd the
// quote is given as usd and its source says "binance (BTCUSDT)", so the pair is visible in the prompt; any other fiat
// is refused ("fiat not supported") rather than converted. The payload's numbers are decimal strings, decoded with
// Schema; closeTime (ms) is the as-of. A 400 with code -1121 ("Invalid symbol") means the pair is not listed.
import { Clock, Effect, Result, Schema } from "effect"
import type { PriceQuote } from "../domain/Enrichment.ts"
import type { Asset } from "./AssetCatalog.ts"
import { type AssetQuotes, asOfIso, DecimalString, Price, type PriceSource } from "./PriceSource.ts"
import { SourceError } from "./SourceError.ts"
import type { SourceGate } from "./SourceGate.ts"
import type { Upstream } from "./UpstreamHttp.ts"

export interface BinanceSettings {
  /** Without a trailing slash, e.g. https://api.binance.com */
  readonly baseUrl: string
  /** Lowercase; only usd is supported (as USDT). */
  readonly fiat: string
}

const Source = "binance"
/** The quote asset standing in for US dollars. */
export const UsdQuoteAsset = "USDT"
/** Tickers asked at once (a turn names at most 5 assets, so one round). */
const Concurrency = 5

const Ticker = Schema.fromJsonString(
  Schema.Struct({
    symbol: Schema.String,
    lastPrice: DecimalString.pipe(Schema.decodeTo(Price)),
    priceChangePercent: Schema.optionalKey(DecimalString),
    closeTime: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThan(0)))
  })
)
const decodeTicker = Schema.decodeUnknownResult(Ticker)
const ErrorBody = Schema.fromJsonString(Schema.Struct({ code: Schema.Int }))
const decodeErrorBody = Schema.decodeUnknownResult(ErrorBody)
const InvalidSymbolCode = -1121

const fail = (reason: SourceError["reason"], message: string, status?: number) =>
  new SourceError({ source: Source, reason, message, ...(status === undefined ? {} : { status }) })

export const makeBinancePrices = (settings: BinanceSettings, upstream: Upstream, gate: SourceGate): PriceSource => {
  const quoteOne = (asset: Asset, base: string) =>
    Effect.gen(function* () {
      const pair = `${base}${UsdQuoteAsset}`
      const response = yield* upstream.get(
        Source,
        `${settings.baseUrl}/api/v3/ticker/24hr?symbol=${encodeURIComponent(pair)}`,
        "application/json"
      )
      if (response.status === 400) {
        const error = decodeErrorBody(response.body)
        if (Result.isSuccess(error) && error.success.code === InvalidSymbolCode) {
          return yield* fail("not_listed", `${pair} is not listed`)
        }
      }
      if (response.status !== 200) return yield* fail("unavailable", `HTTP ${response.status}`, response.status)
      const ticker = decodeTicker(response.body)
      if (Result.isFailure(ticker)) return yield* fail("malformed", `${pair}: unexpected ticker payload`)
      if (ticker.success.symbol !== pair) return yield* fail("malformed", `${pair}: answered for another symbol`)
      const fetchedAt = yield* Clock.currentTimeMillis
      const quote: PriceQuote = {
        asset: asset.name,
        symbol: asset.symbol,
        price: ticker.success.lastPrice,
        fiat: settings.fiat,
        change24hPct: ticker.success.priceChangePercent ?? null,
        source: `${Source} (${pair})`,
        asOf: asOfIso(ticker.success.closeTime, fetchedAt)
      }
      return quote
    })

  const quoteAsset = (asset: Asset): Effect.Effect<Result.Result<PriceQuote, SourceError>> => {
    if (settings.fiat !== "usd") {
      return Effect.succeed(Result.fail(fail("unsupported", `no ${settings.fiat} quotes (only usd, as USDT)`)))
    }
    if (asset.binanceSymbol === null) return Effect.succeed(Result.fail(fail("not_listed", asset.symbol)))
    return Effect.result(gate.run(quoteOne(asset, asset.binanceSymbol)))
  }

  return {
    name: Source,
    quotes: (assets) =>
      Effect.map(
        Effect.forEach(assets, (asset) => Effect.map(quoteAsset(asset), (r) => [asset.id, r] as const), {
          concurrency: Concurrency
        }),
        (entries): AssetQuotes => new Map(entries)
      )
  }
}

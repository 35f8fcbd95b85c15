// CoinGecko's public price API: one GET /api/v3/simple/price?ids=…&vs_currencies=<fiat>&include_24hr_change=true
// &include_last_updated_at=true for all the assets asked, through the source's gate (rate limit, 429 backoff). The
// payload {"bitcoin":{"usd":…,"usd_24h_change":…,"last_updated_at":<s>}} is decoded with Schema; an asset whose entry
// is missing is "not listed", one whose price is missing or absurd is "unusable data" and is left out, never guessed.
import { Clock, Effect, Result, Schema } from "effect"
import type { PriceQuote } from "../domain/Enrichment.ts"
import type { Asset } from "./AssetCatalog.ts"
import { type AssetQuotes, asOfIso, Price, type PriceSource } from "./PriceSource.ts"
import { SourceError } from "./SourceError.ts"
import type { SourceGate } from "./SourceGate.ts"
import type { Upstream } from "./UpstreamHttp.ts"

export interface CoinGeckoSettings {
  /** Without a trailing slash, e.g. https://api.coingecko.com */
  readonly baseUrl: string
  /** Lowercase, e.g. usd */
  readonly fiat: string
}

const Source = "coingecko"
const Payload = Schema.fromJsonString(Schema.Record(Schema.String, Schema.Unknown))
const decodeEntry = Schema.decodeUnknownResult(Schema.Record(Schema.String, Schema.Unknown))
const decodePrice = Schema.decodeUnknownResult(Price)
const decodeChange = Schema.decodeUnknownResult(Schema.NullOr(Schema.Finite))
const decodeUpdatedAt = Schema.decodeUnknownResult(Schema.NullOr(Schema.Int.check(Schema.isGreaterThan(0))))

/** The quote in one asset's entry, or why there is none. */
const quoteOf = (
  asset: Asset,
  entry: unknown,
  fiat: string,
  fetchedAt: number
): Result.Result<PriceQuote, SourceError> => {
  const unusable = (what: string) =>
    Result.fail(new SourceError({ source: Source, reason: "malformed", message: `${asset.symbol}: ${what}` }))
  if (entry === undefined) {
    return Result.fail(
      new SourceError({ source: Source, reason: "not_listed", message: `no entry for ${asset.symbol}` })
    )
  }
  const fields = decodeEntry(entry)
  if (Result.isFailure(fields)) return unusable("entry is not an object")
  const price = decodePrice(fields.success[fiat])
  if (Result.isFailure(price)) return unusable(`no valid ${fiat} price`)
  const changeField = fields.success[`${fiat}_24h_change`]
  const change = changeField === undefined ? Result.succeed(null) : decodeChange(changeField)
  if (Result.isFailure(change)) return unusable("invalid 24 h change")
  const updatedField = fields.success.last_updated_at
  const updated = updatedField === undefined ? Result.succeed(null) : decodeUpdatedAt(updatedField)
  if (Result.isFailure(updated)) return unusable("invalid last_updated_at")
  return Result.succeed({
    asset: asset.name,
    symbol: asset.symbol,
    price: price.success,
    fiat,
    change24hPct: change.success,
    source: Source,
    asOf: asOfIso(updated.success === null ? undefined : updated.success * 1000, fetchedAt)
  })
}

export const makeCoinGeckoPrices = (settings: CoinGeckoSettings, upstream: Upstream, gate: SourceGate): PriceSource => {
  const fetchPayload = (ids: ReadonlyArray<string>) =>
    Effect.gen(function* () {
      const url =
        `${settings.baseUrl}/api/v3/simple/price?ids=${ids.map(encodeURIComponent).join(",")}` +
        `&vs_currencies=${encodeURIComponent(settings.fiat)}&include_24hr_change=true&include_last_updated_at=true`
      const response = yield* upstream.get(Source, url, "application/json")
      if (response.status !== 200) {
        return yield* new SourceError({
          source: Source,
          reason: "unavailable",
          message: `HTTP ${response.status}`,
          status: response.status
        })
      }
      return yield* Effect.mapError(
        Schema.decodeUnknownEffect(Payload)(response.body),
        () => new SourceError({ source: Source, reason: "malformed", message: "body is not a JSON object" })
      )
    })

  return {
    name: Source,
    quotes: (assets) =>
      Effect.gen(function* () {
        const results = new Map<string, Result.Result<PriceQuote, SourceError>>()
        const listed = assets.filter((a) => a.coingeckoId !== null)
        for (const asset of assets) {
          if (asset.coingeckoId === null) {
            results.set(
              asset.id,
              Result.fail(new SourceError({ source: Source, reason: "not_listed", message: asset.symbol }))
            )
          }
        }
        if (listed.length === 0) return results as AssetQuotes
        const payload = yield* gate.run(fetchPayload([...new Set(listed.map((a) => a.coingeckoId!))]))
        const fetchedAt = yield* Clock.currentTimeMillis
        for (const asset of listed) {
          results.set(asset.id, quoteOf(asset, payload[asset.coingeckoId!], settings.fiat, fetchedAt))
        }
        return results as AssetQuotes
      })
  }
}

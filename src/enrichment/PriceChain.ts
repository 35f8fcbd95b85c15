// The price sources in STREAM_PRICE_SOURCES order: each asset goes to the first source, the assets it could not
// quote go to the next, and so on. An asset no source could quote comes back with every source's reason, so the
// enricher can name them ("BTC price (coingecko: rate-limited; binance: unavailable)"). Never fails.
import { Effect, Result } from "effect"
import type { PriceQuote } from "../domain/Enrichment.ts"
import type { Asset } from "./AssetCatalog.ts"
import type { PriceSource } from "./PriceSource.ts"
import { describeSourceError, SourceError } from "./SourceError.ts"

/** Why an asset has no price: each source's reason, in the order they were tried. */
export interface PriceMiss {
  readonly failures: ReadonlyArray<SourceError>
}

export type PriceChain = (
  assets: ReadonlyArray<Asset>
) => Effect.Effect<ReadonlyMap<string, Result.Result<PriceQuote, PriceMiss>>>

const Skips: ReadonlyArray<SourceError["reason"]> = [
  "backing_off",
  "throttled",
  "circuit_open",
  "not_listed",
  "unsupported"
]

const logFailure = (error: SourceError) =>
  Skips.includes(error.reason)
    ? Effect.logDebug("price source skipped", { source: error.source, reason: error.reason })
    : Effect.logWarning("price source failed", {
        source: error.source,
        reason: error.reason,
        status: error.status,
        detail: error.message
      })

export const makePriceChain =
  (sources: ReadonlyArray<PriceSource>): PriceChain =>
  (assets) =>
    Effect.gen(function* () {
      const quotes = new Map<string, PriceQuote>()
      const failures = new Map<string, Array<SourceError>>(assets.map((a) => [a.id, []]))
      let remaining = assets
      for (const source of sources) {
        if (remaining.length === 0) break
        const answer = yield* Effect.result(source.quotes(remaining))
        if (Result.isFailure(answer)) yield* logFailure(answer.failure)
        for (const asset of remaining) {
          const result = Result.isFailure(answer)
            ? Result.fail(answer.failure)
            : (answer.success.get(asset.id) ??
              Result.fail(new SourceError({ source: source.name, reason: "not_listed", message: asset.symbol })))
          if (Result.isSuccess(result)) quotes.set(asset.id, result.success)
          else {
            failures.get(asset.id)!.push(result.failure)
            if (Result.isSuccess(answer)) yield* logFailure(result.failure)
          }
        }
        remaining = remaining.filter((a) => !quotes.has(a.id))
      }
      if (sources.length === 0) {
        for (const asset of assets) {
          failures.get(asset.id)!.push(new SourceError({ source: "none", reason: "unavailable", message: "no source" }))
        }
      }
      return new Map(
        assets.map((asset) => {
          const quote = quotes.get(asset.id)
          return [
            asset.id,
            quote === undefined ? Result.fail({ failures: failures.get(asset.id)! }) : Result.succeed(quote)
          ] as const
        })
      )
    })

/** "BTC price (coingecko: rate-limited; binance: unavailable)" */
export const describePriceMiss = (asset: Asset, miss: PriceMiss): string =>
  `${asset.symbol} price (${miss.failures.map(describeSourceError).join("; ") || "no source"})`

// The maintained list of crypto assets (config/assets.json, or STREAM_ASSETS_FILE): its schema, and loading it once
// at startup with validation (unique ids, symbols and aliases), so a bad edit stops the server with a clear message.
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { Effect, Schema } from "effect"
import { InvalidConfig } from "../config/readVar.ts"
import { normalizePhrase } from "./Words.ts"

const Ticker = Schema.String.check(Schema.isPattern(/^[A-Z0-9]{2,12}$/))
const Slug = Schema.String.check(Schema.isPattern(/^[a-z0-9][a-z0-9-]*$/))

export const Asset = Schema.Struct({
  /** Ours, stable: the cache key. */
  id: Slug,
  /** As the prompt shows it: "Bitcoin". */
  name: Schema.NonEmptyString,
  /** As the prompt shows it: "BTC". */
  symbol: Ticker,
  /** The id CoinGecko's /simple/price takes; null when CoinGecko does not list it. */
  coingeckoId: Schema.NullOr(Slug),
  /** The base asset of the <SYMBOL>USDT pair on Binance; null when there is none. */
  binanceSymbol: Schema.NullOr(Ticker),
  /** Names, tickers and spellings that always mean this asset. */
  aliases: Schema.Array(Schema.NonEmptyString),
  /** Words that mean this asset only next to a price word, with a "$", or in capitals (link, near, ton…). */
  contextualAliases: Schema.Array(Schema.NonEmptyString)
})
export type Asset = typeof Asset.Type

const AssetFile = Schema.fromJsonString(Schema.Struct({ assets: Schema.Array(Asset).check(Schema.isMinLength(1)) }))

export interface AssetCatalog {
  /** In file order. */
  readonly assets: ReadonlyArray<Asset>
  readonly byId: ReadonlyMap<string, Asset>
}

/** The list shipped with the server. */
export const DefaultAssetsFile = fileURLToPath(new URL("../../config/assets.json", import.meta.url))

/** The first problem of a decoded list that the schema cannot see: duplicates and aliases with no letters. */
const findProblem = (assets: ReadonlyArray<Asset>): string | undefined => {
  const ids = new Set<string>()
  const symbols = new Set<string>()
  const aliasOwner = new Map<string, string>()
  for (const asset of assets) {
    if (ids.has(asset.id)) return `asset id "${asset.id}" appears twice`
    if (symbols.has(asset.symbol)) return `symbol ${asset.symbol} appears twice`
    ids.add(asset.id)
    symbols.add(asset.symbol)
    const all = [...asset.aliases, ...asset.contextualAliases]
    if (all.length === 0) return `asset "${asset.id}" has no alias`
    for (const alias of all) {
      const phrase = normalizePhrase(alias)
      if (phrase.length === 0) return `alias ${JSON.stringify(alias)} of "${asset.id}" has no letters or digits`
      const owner = aliasOwner.get(phrase)
      if (owner !== undefined) return `alias "${phrase}" is claimed by "${owner}" and "${asset.id}"`
      aliasOwner.set(phrase, asset.id)
    }
  }
  return undefined
}

export const makeAssetCatalog = (assets: ReadonlyArray<Asset>): AssetCatalog => ({
  assets,
  byId: new Map(assets.map((a) => [a.id, a]))
})

/** Reads and validates an asset list; any problem is an InvalidConfig naming `variable` and the file. */
export const loadAssetCatalog = (
  file: string,
  variable = "STREAM_ASSETS_FILE"
): Effect.Effect<AssetCatalog, InvalidConfig> =>
  Effect.gen(function* () {
    const invalid = (problem: string) =>
      new InvalidConfig({ variable, message: `${variable}: the asset list ${file} ${problem}` })
    const text = yield* Effect.try({
      try: () => readFileSync(file, "utf8"),
      catch: (error) => invalid(`cannot be read: ${(error as Error).message}`)
    })
    const decoded = yield* Schema.decodeUnknownEffect(AssetFile)(text).pipe(
      Effect.mapError((error) => invalid(`is not valid: ${error.message.split("\n").slice(0, 3).join(" ")}`))
    )
    const problem = findProblem(decoded.assets)
    if (problem !== undefined) return yield* invalid(`is not valid: ${problem}`)
    return makeAssetCatalog(decoded.assets)
  })

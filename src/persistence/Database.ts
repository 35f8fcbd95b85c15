// The SqlClient of the server, chosen by configuration: PostgreSQL (@effect/sql-pg) when DATABASE_URL is set, else the
// embedded PGlite in `<STREAM_DATA_DIR>/pglite`. Both speak the same SQL dialect through the same statement compiler.
import { resolve } from "node:path"
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Option, Redacted } from "effect"
import type { SqlClient } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"
import { AppConfig } from "../config/AppConfig.ts"
import type { DatabaseSettings } from "../config/DatabaseSettings.ts"
import * as PgliteClient from "./PgliteClient.ts"

/** Where the embedded database lives for these settings (absolute, resolved against the working directory). */
export const pgliteDir = (settings: Pick<DatabaseSettings, "dataDir">) => resolve(settings.dataDir, "pglite")

/** What a URL points at, without its password, for logs. */
export const describeUrl = (url: Redacted.Redacted<string>) => {
  try {
    const parsed = new URL(Redacted.value(url))
    return `${parsed.hostname || "localhost"}:${parsed.port || "5432"}${parsed.pathname}`
  } catch {
    return "(unparsable URL)"
  }
}

/** PostgreSQL through @effect/sql-pg's pool. */
export const layerPostgres = (url: Redacted.Redacted<string>): Layer.Layer<SqlClient.SqlClient, SqlError> =>
  PgClient.layer({ url, applicationName: "voice-stream" })

/** The embedded PGlite: files in `dataDir` (locked to this process), or in memory when `dataDir` is undefined. */
export const layerPglite = (options: PgliteClient.PgliteOptions): Layer.Layer<SqlClient.SqlClient, SqlError> =>
  PgliteClient.layer(options)

/** The backend these settings select, logged once (without secrets) when the layer is built. */
export const layerFrom = (settings: DatabaseSettings): Layer.Layer<SqlClient.SqlClient, SqlError> =>
  Option.match(settings.url, {
    onSome: (url) =>
      Layer.merge(
        layerPostgres(url),
        Layer.effectDiscard(Effect.logInfo(`database: PostgreSQL at ${describeUrl(url)}`))
      ),
    onNone: () =>
      Layer.merge(
        layerPglite({ dataDir: pgliteDir(settings) }),
        Layer.effectDiscard(Effect.logInfo(`database: embedded PGlite in ${pgliteDir(settings)}`))
      )
  })

/** The server's SqlClient, from `AppConfig.database`. */
export const layer: Layer.Layer<SqlClient.SqlClient, SqlError, AppConfig> = Layer.unwrap(
  Effect.map(Effect.service(AppConfig), (settings) => layerFrom(settings.database))
)

// Database settings: an optional PostgreSQL URL (else the embedded PGlite in STREAM_DATA_DIR) and auto-migration.
import { Config, Effect, Option, Redacted } from "effect"
import { boolVar, InvalidConfig, readVar, stringVar } from "./readVar.ts"

export interface DatabaseSettings {
  /** postgres:// or postgresql:// URL of a PostgreSQL server; unset means the embedded database (PGlite). */
  readonly url: Option.Option<Redacted.Redacted<string>>
  /** Folder for local data; the embedded database lives in `<dataDir>/pglite`. Relative to the working directory. */
  readonly dataDir: string
  /** Apply pending migrations from sql/ when the server starts. */
  readonly autoMigrate: boolean
}

export const DefaultDataDir = "./data"

/** Never echoes the URL: it usually holds a password. Only the scheme is named in the error. */
const databaseUrl = readVar("DATABASE_URL", Config.option(Config.Redacted("DATABASE_URL"))).pipe(
  Effect.flatMap((value) => {
    const url = Option.filter(
      Option.map(value, (r) => Redacted.value(r).trim()),
      (s) => s.length > 0
    )
    if (Option.isNone(url)) return Effect.succeed(Option.none<Redacted.Redacted<string>>())
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url.value)?.[1]
    const parses = URL.canParse(url.value)
    return parses && (scheme === "postgres" || scheme === "postgresql")
      ? Effect.succeed(Option.some(Redacted.make(url.value)))
      : Effect.fail(
          new InvalidConfig({
            variable: "DATABASE_URL",
            message:
              "DATABASE_URL must be a postgres:// or postgresql:// URL such as postgresql://user:password@host:5432/db" +
              (parses && scheme !== undefined ? `; got a ${scheme}: URL` : "; got something that is not a URL")
          })
        )
  })
)

export const readDatabaseSettings: Effect.Effect<DatabaseSettings, InvalidConfig> = Effect.all({
  url: databaseUrl,
  dataDir: stringVar("STREAM_DATA_DIR", DefaultDataDir).pipe(
    Effect.map((dir) => dir.trim()),
    Effect.map((dir) => (dir.length > 0 ? dir : DefaultDataDir))
  ),
  autoMigrate: boolVar("STREAM_AUTO_MIGRATE", true)
})

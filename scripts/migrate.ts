// `npm run migrate`: applies the pending migrations of sql/ to the database the server would use (DATABASE_URL, else
// the embedded PGlite in STREAM_DATA_DIR), reading the environment then .env like the server. Prints what it applied
// or "up to date" and exits 0; on any error prints one line and exits 1. Safe to run again, and from two processes at
// once (an advisory lock on PostgreSQL, a folder lock with waiting on PGlite).
// Only the database settings are read, so it runs where the server's other settings (JWT_SECRET…) are not set.
import { NodeRuntime } from "@effect/platform-node"
import { Cause, Effect, Option, References } from "effect"
import { ConfigFromEnvAndDotEnv } from "../src/config/ConfigSource.ts"
import { readDatabaseSettings } from "../src/config/DatabaseSettings.ts"
import { InvalidConfig } from "../src/config/readVar.ts"
import { describeUrl, layerFrom, pgliteDir } from "../src/persistence/Database.ts"
import { MigrationError, runMigrations } from "../src/persistence/Migrations.ts"

/** One line for any failure: configuration, migration (names the file), or database (the server's words). */
const oneLine = (error: unknown): string => {
  if (error instanceof InvalidConfig) return `configuration error: ${error.message}`
  if (error instanceof MigrationError) return error.message
  const reason = (error as { reason?: { message?: unknown; cause?: unknown } } | undefined)?.reason
  if (reason !== undefined) {
    const cause = reason.cause as { message?: unknown; code?: unknown } | undefined
    const server = typeof cause?.message === "string" && typeof cause.code === "string"
    return `database error: ${server ? `${cause.message} (${cause.code})` : String(reason.message)}`
  }
  return `unexpected error: ${error instanceof Error ? error.message : String(error)}`
}

const program = Effect.gen(function* () {
  const settings = yield* readDatabaseSettings
  const target = Option.match(settings.url, {
    onSome: (url) => `PostgreSQL at ${describeUrl(url)}`,
    onNone: () => `embedded PGlite in ${pgliteDir(settings)}`
  })
  const applied = yield* runMigrations.pipe(Effect.provide(layerFrom(settings)))
  yield* Effect.sync(() => {
    for (const name of applied) console.log(`migrate: applied ${name}`)
    console.log(applied.length === 0 ? `migrate: ${target} is up to date` : `migrate: ${target} migrated`)
  })
}).pipe(
  Effect.provide(ConfigFromEnvAndDotEnv),
  // The client's own info logs would repeat what is printed here; warnings still show.
  Effect.provideService(References.MinimumLogLevel, "Warn"),
  Effect.tapCause((cause) =>
    Cause.hasInterruptsOnly(cause)
      ? Effect.void
      : Effect.sync(() => console.error(`migrate: failed: ${oneLine(Cause.squash(cause))}`))
  )
)

NodeRuntime.runMain(program, { disableErrorReporting: true })

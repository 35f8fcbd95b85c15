// Schema migrations: numbered plain-SQL files in sql/ (0001_init.sql, 0002_….sql), applied in order, each inside ONE
// transaction, recorded in schema_migrations (version, name, checksum, applied_at). Applied files are skipped; an
// applied file whose text changed is an error. A transaction-scoped advisory lock, taken first in every migration
// transaction, makes concurrent migrators (several instances starting at once) apply each file exactly once; on
// PGlite the lock works too, and the client's single connection serializes transactions anyway.
// Files must not contain BEGIN/COMMIT, nor statements PostgreSQL refuses inside a transaction (… CONCURRENTLY).
import { createHash } from "node:crypto"
import { readdir, readFile } from "node:fs/promises"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Effect, Layer, Schema } from "effect"
import { SqlClient } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"
import { AppConfig } from "../config/AppConfig.ts"
import { executeScript } from "./SqlScript.ts"

/** The project's sql/ folder, found from this file (not the working directory). */
export const SqlDir = fileURLToPath(new URL("../../sql/", import.meta.url))

export class MigrationError extends Schema.TaggedError<MigrationError>()("MigrationError", {
  /** BadFile: a file name or number is wrong · Read: the folder or a file cannot be read · Changed: an applied file
   * was edited · Failed: a migration's SQL failed (rolled back) · Database: the bookkeeping itself failed. */
  reason: Schema.Literals(["BadFile", "Read", "Changed", "Failed", "Database"]),
  /** The migration file concerned, when there is one. */
  file: Schema.optionalKey(Schema.String),
  message: Schema.String,
  cause: Schema.optionalKey(Schema.Defect())
}) {}

export interface MigrationFile {
  readonly version: number
  /** The file name, e.g. "0001_init.sql": what schema_migrations records and runMigrations returns. */
  readonly name: string
  readonly sql: string
  /** sha256 of the text with line endings normalised to \n (a CRLF checkout does not count as a change). */
  readonly checksum: string
}

const FileName = /^(\d+)_([A-Za-z0-9][A-Za-z0-9_.-]*)\.sql$/

const checksumOf = (text: string) => createHash("sha256").update(text.replace(/\r\n/g, "\n")).digest("hex")

/** The server's (or the OS's) own words when there are some, e.g. `relation "x" does not exist (42P01)`. */
const sqlMessage = (error: SqlError) => {
  const cause = error.reason.cause as { message?: unknown; code?: unknown } | undefined
  return typeof cause?.message === "string" && typeof cause.code === "string"
    ? `${cause.message} (${cause.code})`
    : (error.reason.message ?? error.message)
}

/** Reads and checks the migration files of `dir`, in version order. */
export const loadMigrations = Effect.fnUntraced(function* (dir: string) {
  const read = <A>(file: string | undefined, f: () => Promise<A>) =>
    Effect.tryPromise({
      try: f,
      catch: (cause) =>
        new MigrationError({
          reason: "Read",
          ...(file === undefined ? {} : { file }),
          message: `Cannot read ${file === undefined ? `the migrations folder ${dir}` : join(dir, file)}: ${String(cause)}`,
          cause
        })
    })
  const names = (yield* read(undefined, () => readdir(dir))).filter((name) => name.endsWith(".sql")).sort()
  const files: Array<MigrationFile> = []
  for (const name of names) {
    const match = FileName.exec(name)
    if (match === null) {
      return yield* new MigrationError({
        reason: "BadFile",
        file: name,
        message: `Migration file ${name} must be named <number>_<name>.sql, e.g. 0002_add_index.sql`
      })
    }
    const version = Number(match[1])
    const clash = files.find((f) => f.version === version)
    if (clash !== undefined || !Number.isSafeInteger(version) || version < 1 || version > 2147483647) {
      return yield* new MigrationError({
        reason: "BadFile",
        file: name,
        message:
          clash === undefined
            ? `Migration file ${name}: the number must be from 1 to 2147483647`
            : `Migration files ${clash.name} and ${name} have the same number ${version}`
      })
    }
    const sql = yield* read(name, () => readFile(join(dir, name), "utf8"))
    files.push({ version, name, sql, checksum: checksumOf(sql) })
  }
  return files.sort((a, b) => a.version - b.version) as ReadonlyArray<MigrationFile>
})

interface AppliedRow {
  readonly version: number
  readonly name: string
  readonly checksum: string
}

const changedError = (file: MigrationFile, row: AppliedRow) =>
  new MigrationError({
    reason: "Changed",
    file: file.name,
    message:
      `Migration ${file.name} was changed after it was applied (checksum then ${row.checksum.slice(0, 12)}…, ` +
      `now ${file.checksum.slice(0, 12)}…). Restore it and put the change in a new migration file`
  })

/** Applies the pending migrations of `dir` and returns the file names it applied (empty: up to date). */
export const runMigrationsFrom = Effect.fnUntraced(function* (dir: string) {
  const files = yield* loadMigrations(dir)
  const sql = yield* SqlClient.SqlClient
  // One key per schema, so test schemas in one database do not wait for each other.
  const lock = sql`SELECT pg_advisory_xact_lock(hashtext('voice-stream/migrations:' || coalesce(current_schema(), '')))`
  const appliedRows = sql<AppliedRow>`SELECT version, name, checksum FROM schema_migrations ORDER BY version`
  const database = (error: SqlError) =>
    new MigrationError({
      reason: "Database",
      message: `${error.reason._tag === "ConnectionError" ? "Cannot reach the database" : "Database error"}: ${sqlMessage(error)}`,
      cause: error
    })

  const applied = yield* sql
    .withTransaction(
      Effect.gen(function* () {
        yield* lock
        yield* sql`CREATE TABLE IF NOT EXISTS schema_migrations (
          version     integer     PRIMARY KEY,
          name        text        NOT NULL,
          checksum    text        NOT NULL,
          applied_at  timestamptz NOT NULL DEFAULT now()
        )`
        return yield* appliedRows
      })
    )
    .pipe(Effect.mapError(database))
  for (const row of applied) {
    const file = files.find((f) => f.version === row.version)
    if (file !== undefined && file.checksum !== row.checksum) return yield* changedError(file, row)
  }

  const done: Array<string> = []
  for (const file of files) {
    if (applied.some((row) => row.version === file.version)) continue
    // Another migrator may have applied it since: look again under the lock, inside this file's transaction.
    const outcome = yield* sql
      .withTransaction(
        Effect.gen(function* () {
          yield* Effect.mapError(lock, database)
          const [row] = yield* Effect.mapError(
            sql<AppliedRow>`SELECT version, name, checksum FROM schema_migrations WHERE version = ${file.version}`,
            database
          )
          if (row !== undefined) return row.checksum === file.checksum ? "skipped" : yield* changedError(file, row)
          yield* executeScript(file.sql)
          yield* sql`INSERT INTO schema_migrations (version, name, checksum) VALUES (${file.version}, ${file.name}, ${file.checksum})`
          return "applied"
        })
      )
      .pipe(
        Effect.mapError((error) =>
          error._tag === "MigrationError"
            ? error
            : error.reason._tag === "ConnectionError"
              ? new MigrationError({
                  reason: "Database",
                  file: file.name,
                  message: `Cannot reach the database to apply ${file.name}: ${sqlMessage(error)}`,
                  cause: error
                })
              : new MigrationError({
                  reason: "Failed",
                  file: file.name,
                  message: `Migration ${file.name} failed and was rolled back: ${sqlMessage(error)}`,
                  cause: error
                })
        )
      )
    if (outcome === "applied") {
      done.push(file.name)
      yield* Effect.logInfo(`migration applied: ${file.name}`)
    }
  }
  return done as ReadonlyArray<string>
})

/** Applies the pending migrations of the project's sql/ folder; the file names applied. */
export const runMigrations: Effect.Effect<
  ReadonlyArray<string>,
  MigrationError,
  SqlClient.SqlClient
> = runMigrationsFrom(SqlDir)

/** At start: applies pending migrations when STREAM_AUTO_MIGRATE is true (the default); a failure stops the start. */
export const MigrationsOnStart: Layer.Layer<never, MigrationError, SqlClient.SqlClient | AppConfig> =
  Layer.effectDiscard(
    Effect.gen(function* () {
      const config = yield* AppConfig
      if (!config.database.autoMigrate) {
        return yield* Effect.logInfo("migrations: STREAM_AUTO_MIGRATE=false, not applied here (npm run migrate)")
      }
      const applied = yield* runMigrations
      yield* Effect.logInfo(applied.length === 0 ? "migrations: up to date" : `migrations: applied ${applied.length}`)
    })
  )

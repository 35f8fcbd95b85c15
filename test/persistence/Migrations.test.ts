// Migrations on both backends (embedded PGlite, and PostgreSQL from TEST_DATABASE_URL): from empty, re-run is a no-op,
// concurrent migrators apply each file once, a failing file rolls back and is named, an edited applied file is
// refused; file naming rules; and MigrationsOnStart following STREAM_AUTO_MIGRATE.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { afterAll } from "vitest"
import { AppConfig } from "../../src/config/AppConfig.ts"
import {
  loadMigrations,
  MigrationError,
  MigrationsOnStart,
  runMigrations,
  runMigrationsFrom,
  SqlDir
} from "../../src/persistence/Migrations.ts"
import { backends, describeBackends } from "../support/Databases.ts"

const tempDirs: Array<string> = []
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true })
})

/** A temporary sql/ folder with these files (removed after the file's tests). */
const sqlDir = (files: Record<string, string>) => {
  const dir = mkdtempSync(join(tmpdir(), "voice-stream-sql-"))
  tempDirs.push(dir)
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  return dir
}

const tables = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ name: string }>`
    SELECT table_name AS name FROM information_schema.tables
    WHERE table_schema = current_schema() ORDER BY table_name`
  return rows.map((r) => r.name)
})

const recorded = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  return yield* sql<{ version: number; name: string; checksum: string; applied_at: Date }>`
    SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version`
})

const init = readFileSync(join(SqlDir, "0001_init.sql"), "utf8")

/** Three files, one multi-statement with a function body, one slow enough for migrators to overlap. */
const threeFiles = {
  "0001_init.sql": init,
  "0002_notes.sql": `
    CREATE TABLE notes (id integer PRIMARY KEY, body text NOT NULL DEFAULT 'a;b');
    CREATE FUNCTION note_count() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM notes; $$;
    SELECT pg_sleep(0.2);
    INSERT INTO notes (id) VALUES (1);`,
  "0010_more.sql": "ALTER TABLE notes ADD COLUMN tag text; -- the last one"
}

describeBackends("Migrations", (backend) => {
  it.live("from empty: applies sql/ in order, records each; a second run applies nothing", () =>
    Effect.gen(function* () {
      const applied = yield* runMigrations
      assert.deepStrictEqual(applied, ["0001_init.sql"])
      assert.deepStrictEqual(yield* tables, ["provider_usage", "schema_migrations", "sessions", "turns"])
      const [row] = yield* recorded
      assert.strictEqual(row!.version, 1)
      assert.strictEqual(row!.name, "0001_init.sql")
      assert.match(row!.checksum, /^[0-9a-f]{64}$/)
      assert.instanceOf(row!.applied_at, Date)

      assert.deepStrictEqual(yield* runMigrations, [])
      assert.strictEqual((yield* recorded).length, 1)
    }).pipe(Effect.provide(backend.layer()))
  )

  it.live("multi-statement files, in number order, and new files later", () =>
    Effect.gen(function* () {
      const dir = sqlDir({ "0001_init.sql": init, "0002_notes.sql": threeFiles["0002_notes.sql"] })
      assert.deepStrictEqual(yield* runMigrationsFrom(dir), ["0001_init.sql", "0002_notes.sql"])
      writeFileSync(join(dir, "0010_more.sql"), threeFiles["0010_more.sql"])
      assert.deepStrictEqual(yield* runMigrationsFrom(dir), ["0010_more.sql"])
      const sql = yield* SqlClient.SqlClient
      const [row] =
        yield* sql`SELECT note_count() AS n, (SELECT body FROM notes) AS body, (SELECT tag FROM notes) AS tag`
      assert.deepStrictEqual(row, { n: 1n, body: "a;b", tag: null })
      assert.deepStrictEqual(
        (yield* recorded).map((r) => r.version),
        [1, 2, 10]
      )
    }).pipe(Effect.provide(backend.layer()))
  )

  it.live("two migrators at once (two clients on one database) apply each file exactly once", () =>
    Effect.gen(function* () {
      const dir = sqlDir(threeFiles)
      const database = yield* backend.database
      const migrate = runMigrationsFrom(dir).pipe(Effect.provide(database.client))
      const [first, second] = yield* Effect.all([migrate, migrate], { concurrency: 2 })
      assert.deepStrictEqual([...first, ...second].sort(), ["0001_init.sql", "0002_notes.sql", "0010_more.sql"])
      const rows = yield* recorded.pipe(Effect.provide(database.client))
      assert.deepStrictEqual(
        rows.map((r) => r.version),
        [1, 2, 10]
      )
    })
  )

  it.live("a failing migration is rolled back whole, named in the error, and stops the run", () =>
    Effect.gen(function* () {
      const dir = sqlDir({
        "0001_init.sql": init,
        "0002_broken.sql": "CREATE TABLE half_done (id integer);\nINSERT INTO missing_table VALUES (1);",
        "0003_after.sql": "CREATE TABLE after_broken (id integer);"
      })
      const error = yield* Effect.flip(runMigrationsFrom(dir))
      assert.instanceOf(error, MigrationError)
      assert.strictEqual(error.reason, "Failed")
      assert.strictEqual(error.file, "0002_broken.sql")
      assert.include(error.message, "0002_broken.sql")
      assert.include(error.message, "missing_table")
      assert.deepStrictEqual(yield* tables, ["provider_usage", "schema_migrations", "sessions", "turns"])
      assert.deepStrictEqual(
        (yield* recorded).map((r) => r.name),
        ["0001_init.sql"]
      )
    }).pipe(Effect.provide(backend.layer()))
  )

  it.live("an applied file that was edited is refused before anything else is applied", () =>
    Effect.gen(function* () {
      const dir = sqlDir({ "0001_init.sql": init })
      yield* runMigrationsFrom(dir)
      writeFileSync(join(dir, "0001_init.sql"), `${init}\nCREATE TABLE sneaky (id integer);\n`)
      writeFileSync(join(dir, "0002_next.sql"), "CREATE TABLE next_one (id integer);")
      const error = yield* Effect.flip(runMigrationsFrom(dir))
      assert.strictEqual(error.reason, "Changed")
      assert.strictEqual(error.file, "0001_init.sql")
      assert.include(error.message, "0001_init.sql")
      assert.notInclude(yield* tables, "next_one")
      // Line endings alone are not a change.
      writeFileSync(join(dir, "0001_init.sql"), init.replace(/\n/g, "\r\n"))
      assert.deepStrictEqual(yield* runMigrationsFrom(dir), ["0002_next.sql"])
    }).pipe(Effect.provide(backend.layer()))
  )
})

describe("migration files", () => {
  it.effect("the project's sql/ folder is found from the source, not the working directory", () =>
    Effect.gen(function* () {
      const files = yield* loadMigrations(SqlDir)
      assert.strictEqual(files[0]?.name, "0001_init.sql")
      assert.isTrue(files.every((f, i) => i === 0 || f.version > files[i - 1]!.version))
    })
  )

  it.effect("bad names, clashing numbers and a missing folder are errors that say which", () =>
    Effect.gen(function* () {
      const badName = yield* Effect.flip(loadMigrations(sqlDir({ "init.sql": "SELECT 1" })))
      assert.strictEqual(badName.reason, "BadFile")
      assert.strictEqual(badName.file, "init.sql")
      const clash = yield* Effect.flip(loadMigrations(sqlDir({ "0001_a.sql": "", "01_b.sql": "" })))
      assert.strictEqual(clash.reason, "BadFile")
      assert.include(clash.message, "0001_a.sql")
      assert.include(clash.message, "01_b.sql")
      const missing = yield* Effect.flip(loadMigrations(join(tmpdir(), "voice-stream-no-such-dir")))
      assert.strictEqual(missing.reason, "Read")
      const ignored = yield* loadMigrations(sqlDir({ "0001_a.sql": "SELECT 1", "README.md": "notes" }))
      assert.deepStrictEqual(
        ignored.map((f) => f.name),
        ["0001_a.sql"]
      )
    })
  )
})

describe("MigrationsOnStart", () => {
  const pglite = backends[0]!
  const start = (autoMigrate: string) =>
    Effect.gen(function* () {
      const database = yield* pglite.database
      const config = AppConfig.layer.pipe(
        Layer.provide(
          ConfigProvider.layer(ConfigProvider.fromEnv({ env: { NODE_ENV: "test", STREAM_AUTO_MIGRATE: autoMigrate } }))
        )
      )
      yield* Effect.scoped(Layer.build(MigrationsOnStart.pipe(Layer.provide(Layer.merge(config, database.client)))))
      return yield* Effect.flatMap(SqlClient.SqlClient, (sql) =>
        sql`SELECT to_regclass('sessions') IS NOT NULL AS present`.pipe(Effect.map(([row]) => row!.present))
      ).pipe(Effect.provide(database.client))
    })

  it.live("applies the migrations when STREAM_AUTO_MIGRATE is true, leaves the database alone when false", () =>
    Effect.gen(function* () {
      assert.strictEqual(yield* start("true"), true)
      assert.strictEqual(yield* start("false"), false)
    })
  )
})

// The database backends persistence tests run against: the embedded PGlite (always, in memory) and PostgreSQL from
// TEST_DATABASE_URL, each test database being a fresh schema dropped afterwards. Without TEST_DATABASE_URL the
// PostgreSQL backend carries a skipReason: skip its cases visibly with `describeBackends`, never pass them silently.
import { randomBytes } from "node:crypto"
import { PgClient } from "@effect/sql-pg"
import { describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted, type Scope } from "effect"
import * as Reactivity from "effect/reactivity/Reactivity"
import { SqlClient } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"
import { layerPostgres } from "../../src/persistence/Database.ts"
import * as PgliteClient from "../../src/persistence/PgliteClient.ts"

export type BackendName = "pglite" | "postgres"

/** One empty database, alive for a scope. */
export interface TestDatabase {
  /** A client on it. Each build is another client: a new pool on PostgreSQL, the same instance on PGlite. */
  readonly client: Layer.Layer<SqlClient.SqlClient, SqlError>
}

export interface Backend {
  readonly name: BackendName
  /** Set when this backend cannot run here; its cases must then be reported as skipped with this text. */
  readonly skipReason: string | undefined
  /** A fresh empty database for the current scope (PostgreSQL: a new schema, dropped when the scope closes). */
  readonly database: Effect.Effect<TestDatabase, SqlError, Scope.Scope>
  /** A client on a fresh empty database, for `Effect.provide` or `layer(...)`. */
  readonly layer: () => Layer.Layer<SqlClient.SqlClient, SqlError>
}

const pgliteDatabase: Effect.Effect<TestDatabase, SqlError, Scope.Scope> = Effect.map(
  PgliteClient.make({}).pipe(Effect.provide(Reactivity.layer)),
  (client) => ({ client: Layer.succeed(SqlClient.SqlClient, client) })
)

/** `url` with every connection's search_path set to `schema`. */
const withSearchPath = (url: string, schema: string) => {
  const parsed = new URL(url)
  parsed.searchParams.set("options", `-c search_path=${schema}`)
  return parsed.toString()
}

const postgresDatabase = (url: string): Effect.Effect<TestDatabase, SqlError, Scope.Scope> =>
  Effect.gen(function* () {
    const schema = `vs_test_${randomBytes(6).toString("hex")}`
    // The admin client lives only while the schema is created and dropped.
    const admin = PgClient.make({ url: Redacted.make(url), maxConnections: 1 }).pipe(Effect.provide(Reactivity.layer))
    const onAdmin = (statement: string) =>
      Effect.scoped(Effect.flatMap(admin, (sql) => sql.unsafe(statement).pipe(Effect.asVoid)))
    yield* Effect.acquireRelease(onAdmin(`CREATE SCHEMA "${schema}"`), () =>
      onAdmin(`DROP SCHEMA "${schema}" CASCADE`).pipe(Effect.ignore)
    )
    return { client: layerPostgres(Redacted.make(withSearchPath(url, schema))) }
  })

const fromDatabase = (database: Effect.Effect<TestDatabase, SqlError, Scope.Scope>) => () =>
  Layer.unwrap(Effect.map(database, (db) => db.client))

const testDatabaseUrl = process.env.TEST_DATABASE_URL?.trim() || undefined

const pglite: Backend = {
  name: "pglite",
  skipReason: undefined,
  database: pgliteDatabase,
  layer: fromDatabase(pgliteDatabase)
}

const postgres: Backend = testDatabaseUrl
  ? {
      name: "postgres",
      skipReason: undefined,
      database: postgresDatabase(testDatabaseUrl),
      layer: fromDatabase(postgresDatabase(testDatabaseUrl))
    }
  : {
      name: "postgres",
      skipReason: "Postgres cases skipped: TEST_DATABASE_URL not set",
      database: Effect.die(new Error("TEST_DATABASE_URL is not set")),
      layer: () => Layer.effect(SqlClient.SqlClient, Effect.die(new Error("TEST_DATABASE_URL is not set")))
    }

/** Every backend, PGlite first. */
export const backends: ReadonlyArray<Backend> = [pglite, postgres]

/**
 * Declares `suite` once per backend, as `describe("<title> [<name>]")`. The cases of a backend that cannot run here
 * are declared but skipped, next to one skipped test named by its skipReason (also warned on stderr), so the skip
 * and its reason show in every report.
 */
export const describeBackends = (title: string, suite: (backend: Backend) => void) => {
  for (const backend of backends) {
    const skipped = backend.skipReason !== undefined
    describe.skipIf(skipped)(`${title} [${backend.name}]`, () => suite(backend))
    if (skipped) {
      console.warn(`${title}: ${backend.skipReason}`)
      it.skip(`${title} [${backend.name}]: ${backend.skipReason}`, () => {})
    }
  }
}

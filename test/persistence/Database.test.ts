// The database layer on both backends (embedded PGlite, and PostgreSQL from TEST_DATABASE_URL): JS types of every
// column type in sql/0001_init.sql, parameters, transactions (commit, rollback, savepoints), PGlite's single connection
// under concurrency, error classes, multi-statement scripts; then PGlite on disk (lock, reopen), the statement
// splitter and DATABASE_URL settings.
import { randomUUID } from "node:crypto"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { hostname, tmpdir } from "node:os"
import { join } from "node:path"
import { PgTypes } from "@effect/sql-pg"
import { assert, describe, it, layer } from "@effect/vitest"
import { ConfigProvider, Deferred, Effect, Fiber, Layer, Option, Redacted, Stream } from "effect"
import * as Reactivity from "effect/reactivity/Reactivity"
import { SqlClient } from "effect/sql"
import { readDatabaseSettings } from "../../src/config/DatabaseSettings.ts"
import { InvalidConfig } from "../../src/config/readVar.ts"
import { describeUrl, layerFrom, pgliteDir } from "../../src/persistence/Database.ts"
import { runMigrations } from "../../src/persistence/Migrations.ts"
import * as PgliteClient from "../../src/persistence/PgliteClient.ts"
import { executeScript, splitStatements } from "../../src/persistence/SqlScript.ts"
import { describeBackends } from "../support/Databases.ts"

const table = (prefix: string) => `${prefix}_${randomUUID().replaceAll("-", "").slice(0, 10)}`

const reasonOf = (error: unknown) => (error as { reason?: { _tag?: string } }).reason?._tag

describeBackends("Database", (backend) => {
  // One database per backend for this file, migrated once; each case uses its own rows or tables.
  const migrated = Layer.effectDiscard(runMigrations).pipe(Layer.provideMerge(backend.layer()))

  layer(migrated, { excludeTestServices: true })((it) => {
    it.effect("every column type of sql/0001_init.sql comes back as the same JS type", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const id = randomUUID()
        const usageId = randomUUID()
        const started = new Date("2025-03-04T05:06:07.891Z")
        const ended = new Date("2025-03-04T05:07:00.000Z")
        yield* sql`INSERT INTO sessions (id, user_id, instance_id, started_at, client_info, input_format, output_format)
          VALUES (${id}, 'user-1', 'instance-1', ${started}, ${JSON.stringify({ app: "ios", v: [1, 2] })}::jsonb,
                  ${PgTypes.jsonb({ encoding: "pcm16", sampleRate: 16000 })}, ${JSON.stringify({ x: null })})`
        yield* sql`INSERT INTO turns (session_id, seq, input_kind, user_text, assistant_text, interrupted, error_code,
                                      stt_ms, enrichment_ms, llm_first_token_ms, started_at, ended_at)
          VALUES (${id}, ${1}, 'audio', ${"price of ₿; 'quoted'"}, 'ok', ${true}, ${null}, ${123.456}, ${0}, ${250},
                  ${started}, ${ended})`
        yield* sql`INSERT INTO provider_usage (id, session_id, turn_seq, provider, kind, audio_seconds, input_tokens,
                                               requests, recorded_at)
          VALUES (${usageId}, ${id}, ${1}, 'mock', 'llm', ${1.25}, ${100}, ${1}, ${ended})`

        const [session] = yield* sql`SELECT * FROM sessions WHERE id = ${id}`
        assert.strictEqual(session!.id, id)
        assert.strictEqual(session!.user_id, "user-1")
        assert.instanceOf(session!.started_at, Date)
        assert.strictEqual((session!.started_at as Date).getTime(), started.getTime())
        assert.isNull(session!.ended_at)
        assert.isNull(session!.end_reason)
        assert.deepStrictEqual(session!.client_info, { app: "ios", v: [1, 2] })
        assert.deepStrictEqual(session!.input_format, { encoding: "pcm16", sampleRate: 16000 })
        assert.deepStrictEqual(session!.output_format, { x: null })

        const [turn] = yield* sql`SELECT * FROM turns WHERE session_id = ${id}`
        assert.strictEqual(turn!.seq, 1)
        assert.strictEqual(turn!.user_text, "price of ₿; 'quoted'")
        assert.strictEqual(turn!.interrupted, true)
        assert.isNull(turn!.error_code)
        assert.strictEqual(turn!.stt_ms, 123.456)
        assert.strictEqual(turn!.enrichment_ms, 0)
        assert.strictEqual(turn!.llm_first_token_ms, 250)
        assert.isNull(turn!.total_ms)
        assert.strictEqual((turn!.ended_at as Date).toISOString(), ended.toISOString())

        const [usage] = yield* sql`SELECT * FROM provider_usage WHERE id = ${usageId}`
        assert.strictEqual(usage!.audio_seconds, 1.25)
        assert.strictEqual(usage!.input_tokens, 100)
        assert.strictEqual(usage!.output_tokens, 0)
        assert.strictEqual(usage!.turn_seq, 1)
        assert.instanceOf(usage!.recorded_at, Date)

        const [count] = yield* sql`SELECT count(*) AS n FROM turns WHERE session_id = ${id}`
        assert.strictEqual(count!.n, 1n)
      })
    )

    it.effect("other types and parameters match @effect/sql-pg (interval is the one known difference)", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const [row] = yield* sql`SELECT 9007199254740993::int8 AS big, '2024-02-29'::date AS day,
          '12:00:01.5'::time AS clock, 1.50::numeric AS num, 'infinity'::timestamptz AS inf,
          '2024-01-01 12:00:00.123456'::timestamp AS ts, ARRAY[1, 2]::int8[] AS ints, '\\x0102'::bytea AS bytes,
          '1 day'::interval AS span`
        assert.strictEqual(row!.big, 9007199254740993n)
        assert.strictEqual(row!.day, "2024-02-29")
        assert.strictEqual(row!.clock, 43201500000n)
        assert.strictEqual(row!.num, "1.50")
        assert.isTrue(Number.isNaN((row!.inf as Date).getTime()))
        assert.strictEqual((row!.ts as Date).toISOString(), "2024-01-01T12:00:00.123Z")
        assert.deepStrictEqual(row!.ints, [1n, 2n])
        assert.deepStrictEqual(Array.from(row!.bytes as Uint8Array), [1, 2])
        // Documented difference: @effect/sql-pg decodes interval to {months, days, microseconds}, PGlite to text.
        assert.deepStrictEqual(
          row!.span,
          backend.name === "postgres" ? { months: 0, days: 1, microseconds: 0n } : "1 day"
        )

        const at = new Date("2024-05-06T07:08:09.010Z")
        const [p] = yield* sql`SELECT ${10n} AS b, ${2 ** 40} AS wide, ${1.5} AS f, ${true} AS yes, ${at} AS at,
          ${new Uint8Array([7, 8])} AS bytes, ${[1, 2, 3]} AS arr, ${["a", "b,c"]} AS texts, ${null}::text AS nothing,
          ${"42"}::int4 AS untyped`
        assert.strictEqual(p!.b, 10n)
        assert.strictEqual(p!.wide, 1099511627776n)
        assert.strictEqual(p!.f, 1.5)
        assert.strictEqual(p!.yes, true)
        assert.strictEqual((p!.at as Date).getTime(), at.getTime())
        assert.deepStrictEqual(Array.from(p!.bytes as Uint8Array), [7, 8])
        assert.deepStrictEqual(p!.arr, [1, 2, 3])
        assert.deepStrictEqual(p!.texts, ["a", "b,c"])
        assert.isNull(p!.nothing)
        assert.strictEqual(p!.untyped, 42)

        // A plain object is refused on both (pass JSON text with ::jsonb, or PgTypes.jsonb).
        const refused = yield* Effect.flip(sql`SELECT ${{ a: 1 }} AS x`)
        assert.strictEqual(refused._tag, "SqlError")
      })
    )

    it.effect("timestamptz keeps the instant whatever the session time zone", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const at = new Date("2024-01-01T00:30:00.250Z")
        const row = yield* sql.withTransaction(
          Effect.gen(function* () {
            yield* sql`SET LOCAL TIME ZONE 'Asia/Kolkata'`
            const [r] = yield* sql`SELECT ${at}::timestamptz AS at, ${at}::timestamptz::text AS text`
            return r!
          })
        )
        assert.strictEqual((row.at as Date).toISOString(), at.toISOString())
        assert.include(String(row.text), "+05:30")
      })
    )

    it.effect("transactions commit, roll back, and nest through savepoints", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const t = table("tx")
        yield* sql`CREATE TABLE ${sql(t)} (id integer PRIMARY KEY)`
        const insert = (id: number) => sql`INSERT INTO ${sql(t)} (id) VALUES (${id})`
        const ids = Effect.map(sql<{ id: number }>`SELECT id FROM ${sql(t)} ORDER BY id`, (rows) =>
          rows.map((r) => r.id)
        )

        yield* sql.withTransaction(insert(1))
        yield* Effect.flip(sql.withTransaction(Effect.andThen(insert(2), Effect.fail("boom" as const))))
        // Inner failure: back to the savepoint, the outer transaction goes on and commits.
        yield* sql.withTransaction(
          Effect.gen(function* () {
            yield* insert(3)
            yield* Effect.ignore(sql.withTransaction(Effect.andThen(insert(4), Effect.fail("inner" as const))))
            yield* insert(5)
          })
        )
        // Outer failure: the committed savepoint goes too.
        yield* Effect.flip(
          sql.withTransaction(
            Effect.gen(function* () {
              yield* insert(6)
              yield* sql.withTransaction(insert(7))
              return yield* Effect.fail("outer" as const)
            })
          )
        )
        assert.deepStrictEqual(yield* ids, [1, 3, 5])

        // A failed statement swallowed inside a transaction aborts it: COMMIT must fail, not pretend.
        const commit = yield* Effect.flip(
          sql.withTransaction(
            Effect.gen(function* () {
              yield* insert(8)
              yield* Effect.ignore(insert(1))
            })
          )
        )
        assert.strictEqual(commit._tag, "SqlError")
        assert.deepStrictEqual(yield* ids, [1, 3, 5])
      })
    )

    it.effect("50 concurrent inserts interleaved with transactions all land, in one piece", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const t = table("conc")
        yield* sql`CREATE TABLE ${sql(t)} (id integer PRIMARY KEY, source text NOT NULL)`
        const insert = (id: number, source: string) => sql`INSERT INTO ${sql(t)} (id, source) VALUES (${id}, ${source})`
        const transaction = (base: number) =>
          sql.withTransaction(
            Effect.gen(function* () {
              yield* insert(base, "tx")
              yield* Effect.sleep("5 millis")
              yield* insert(base + 1, "tx")
              const [inside] = yield* sql`SELECT count(*) AS n FROM ${sql(t)} WHERE id IN (${base}, ${base + 1})`
              assert.strictEqual(inside!.n, 2n)
            })
          )
        const plain = Array.from({ length: 50 }, (_, i) => insert(i, "plain"))
        const transactions = [1000, 1010, 1020].map(transaction)
        const failing = sql.withTransaction(Effect.andThen(insert(2000, "rolled back"), Effect.fail("no" as const)))
        yield* Effect.all([...plain, ...transactions, Effect.flip(failing)], { concurrency: "unbounded" })
        const [count] = yield* sql`SELECT count(*) AS n FROM ${sql(t)}`
        assert.strictEqual(count!.n, 56n)
        assert.strictEqual(yield* Stream.runCount(sql`SELECT id FROM ${sql(t)}`.stream), 56)
      })
    )

    it.effect("errors carry the class @effect/sql-pg uses", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const t = table("err")
        yield* sql`CREATE TABLE ${sql(t)} (id integer PRIMARY KEY)`
        yield* sql`INSERT INTO ${sql(t)} (id) VALUES (1)`
        const duplicate = yield* Effect.flip(sql`INSERT INTO ${sql(t)} (id) VALUES (1)`)
        assert.strictEqual(reasonOf(duplicate), "UniqueViolation")
        assert.strictEqual(reasonOf(yield* Effect.flip(sql`SELEC 1`)), "SqlSyntaxError")
        assert.strictEqual(reasonOf(yield* Effect.flip(sql`SELECT * FROM no_such_table`)), "SqlSyntaxError")
        const check = yield* Effect.flip(
          sql`INSERT INTO turns (session_id, seq, input_kind, user_text, assistant_text, started_at, ended_at)
              VALUES (${randomUUID()}, 1, 'smoke', '', '', now(), now())`
        )
        assert.strictEqual(reasonOf(check), "ConstraintError")
      })
    )

    it.effect("a multi-statement script runs whole, in a transaction all-or-nothing", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const t = table("script")
        const fn = `${t}_label`
        const script = `
          -- a comment; with a semicolon
          CREATE TABLE ${t} (id integer PRIMARY KEY, label text NOT NULL); /* block; /* nested; */ comment */
          INSERT INTO ${t} VALUES (1, 'semi;colon'), (2, E'it\\'s; escaped'), (3, 'double ''quote'';');
          CREATE FUNCTION ${fn}(n integer) RETURNS text LANGUAGE plpgsql AS $body$
          BEGIN
            RETURN (SELECT label FROM ${t} WHERE id = n); -- inside the body;
          END;
          $body$;
          INSERT INTO ${t} VALUES (4, ${"$$"}dollar; quoted${"$$"});
        `
        yield* executeScript(script)
        const rows = yield* sql<{ id: number; label: string }>`SELECT id, label FROM ${sql(t)} ORDER BY id`
        assert.deepStrictEqual(
          rows.map((r) => r.label),
          ["semi;colon", "it's; escaped", "double 'quote';", "dollar; quoted"]
        )
        const [viaFunction] = yield* sql.unsafe<{ label: string }>(`SELECT ${fn}(3) AS label`)
        assert.strictEqual(viaFunction!.label, "double 'quote';")

        const broken = yield* Effect.flip(
          sql.withTransaction(executeScript(`INSERT INTO ${t} VALUES (5, 'five'); INSERT INTO nowhere VALUES (1);`))
        )
        assert.strictEqual(broken._tag, "SqlError")
        const [count] = yield* sql`SELECT count(*) AS n FROM ${sql(t)}`
        assert.strictEqual(count!.n, 4n)
      })
    )

    if (backend.name === "pglite") {
      it.effect("PGlite: a statement from another fiber waits for an open transaction to end", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const t = table("wait")
          yield* sql`CREATE TABLE ${sql(t)} (id integer PRIMARY KEY)`
          const inserted = yield* Deferred.make<void>()
          const release = yield* Deferred.make<void>()
          const transaction = yield* Effect.forkChild(
            sql.withTransaction(
              Effect.gen(function* () {
                yield* sql`INSERT INTO ${sql(t)} (id) VALUES (1)`
                yield* Deferred.succeed(inserted, undefined)
                yield* Deferred.await(release)
              })
            )
          )
          yield* Deferred.await(inserted)
          const reader = yield* Effect.forkChild(sql`SELECT count(*) AS n FROM ${sql(t)}`)
          yield* Effect.sleep("50 millis")
          assert.isUndefined(reader.pollUnsafe(), "the read ran inside someone else's transaction")
          yield* Deferred.succeed(release, undefined)
          yield* Fiber.join(transaction)
          const [count] = yield* Fiber.join(reader)
          assert.strictEqual(count!.n, 1n)
        })
      )
    }
  })
})

describe("PGlite on disk", () => {
  const tempDir = () => mkdtempSync(join(tmpdir(), "voice-stream-pglite-"))
  const settings = (dataDir: string) => ({ url: Option.none(), dataDir, autoMigrate: true })

  it.live("keeps its data across restarts in <STREAM_DATA_DIR>/pglite", () =>
    Effect.gen(function* () {
      const dir = tempDir()
      const write = Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        yield* sql`CREATE TABLE kept (id integer)`
        yield* sql`INSERT INTO kept VALUES (42)`
      })
      const read = Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ id: number }>`SELECT id FROM kept`)
      yield* Effect.provide(write, layerFrom(settings(dir)))
      const rows = yield* Effect.provide(read, layerFrom(settings(dir)))
      assert.deepStrictEqual(rows, [{ id: 42 }])
      assert.strictEqual(pgliteDir(settings(dir)), join(dir, "pglite"))
      rmSync(dir, { recursive: true, force: true })
    })
  )

  it.live("one process at a time on a folder; locks left by dead processes are taken over", () =>
    Effect.gen(function* () {
      const dir = join(tempDir(), "pglite")
      const lockFile = `${dir}.lock`
      const open = (lockWaitMs: number) =>
        PgliteClient.make({ dataDir: dir, lockWaitMs }).pipe(Effect.provide(Reactivity.layer))
      yield* Effect.scoped(
        Effect.gen(function* () {
          yield* open(100)
          assert.strictEqual(readFileSync(lockFile, "utf8"), `${process.pid}@${hostname()}`)
          const second = yield* Effect.flip(Effect.scoped(open(300)))
          assert.strictEqual(reasonOf(second), "ConnectionError")
          assert.include(second.message, `in use by process ${process.pid}@${hostname()}`)
          assert.include(second.message, lockFile)
        })
      )
      assert.isFalse(existsSync(lockFile), "the lock is released with the scope")
      // A dead pid of this host, and our own pid from an earlier life (a restarted container's pid 1): both stale.
      for (const stale of [`2147483646@${hostname()}`, `${process.pid}@${hostname()}`, "garbage"]) {
        writeFileSync(lockFile, stale)
        yield* Effect.scoped(open(100))
      }
      // Another host's lock cannot be checked: obeyed.
      writeFileSync(lockFile, "1@some-other-host")
      const other = yield* Effect.flip(Effect.scoped(open(200)))
      assert.include(other.message, "1@some-other-host")
      rmSync(join(dir, ".."), { recursive: true, force: true })
    })
  )
})

describe("splitStatements", () => {
  it("splits at top-level semicolons only", () => {
    assert.deepStrictEqual(
      splitStatements(`SELECT 1; SELECT ';' ; -- x; y
        SELECT "a;b" FROM t; /* ; */ SELECT $$;$$, $tag$ $$ ; $tag$; SELECT E'\\';'`),
      [
        "SELECT 1",
        "SELECT ';'",
        `-- x; y\n        SELECT "a;b" FROM t`,
        "/* ; */ SELECT $$;$$, $tag$ $$ ; $tag$",
        "SELECT E'\\';'"
      ]
    )
  })
  it("drops empty and comment-only statements, keeps $1 parameters and identifiers with $", () => {
    assert.deepStrictEqual(splitStatements(" ; -- only a comment\n;/* c */;"), [])
    assert.deepStrictEqual(splitStatements("SELECT $1, a$b$ FROM x;SELECT 2"), ["SELECT $1, a$b$ FROM x", "SELECT 2"])
  })
})

describe("DatabaseSettings", () => {
  const read = (env: Record<string, string>) =>
    readDatabaseSettings.pipe(Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env })))

  it.effect("defaults: embedded database in ./data, migrations on start", () =>
    Effect.gen(function* () {
      const settings = yield* read({})
      assert.isTrue(Option.isNone(settings.url))
      assert.strictEqual(settings.dataDir, "./data")
      assert.isTrue(settings.autoMigrate)
    })
  )

  it.effect("reads a PostgreSQL URL (redacted), STREAM_DATA_DIR and STREAM_AUTO_MIGRATE", () =>
    Effect.gen(function* () {
      const url = "postgresql://app:s3cret@db.internal:6432/voice"
      const settings = yield* read({ DATABASE_URL: url, STREAM_DATA_DIR: "/var/lib/vs", STREAM_AUTO_MIGRATE: "off" })
      assert.strictEqual(Option.map(settings.url, Redacted.value).pipe(Option.getOrUndefined), url)
      assert.notInclude(String(settings.url), "s3cret")
      assert.strictEqual(describeUrl(Option.getOrThrow(settings.url)), "db.internal:6432/voice")
      assert.strictEqual(settings.dataDir, "/var/lib/vs")
      assert.isFalse(settings.autoMigrate)
      assert.isTrue(Option.isNone((yield* read({ DATABASE_URL: "  " })).url))
    })
  )

  it.effect("refuses other URLs with an InvalidConfig naming DATABASE_URL, without echoing it", () =>
    Effect.gen(function* () {
      for (const bad of ["mysql://root:hunter2@x/db", "hunter2", "postgres//missing-colon"]) {
        const error = yield* Effect.flip(read({ DATABASE_URL: bad }))
        assert.instanceOf(error, InvalidConfig)
        assert.strictEqual(error.variable, "DATABASE_URL")
        assert.notInclude(error.message, "hunter2")
      }
      const flag = yield* Effect.flip(read({ STREAM_AUTO_MIGRATE: "sometimes" }))
      assert.strictEqual(flag.variable, "STREAM_AUTO_MIGRATE")
    })
  )
})

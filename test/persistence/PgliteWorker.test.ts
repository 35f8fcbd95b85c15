// PGlite in its worker thread, on a real PGlite: statements run off the main thread (the event loop keeps turning
// while one runs), a worker that dies fails the waiting statement and every later one with a ConnectionError instead
// of leaving them hanging, database errors keep their class and fields across the thread, and an open that fails is
// a ConnectionError naming the folder.
import { randomUUID } from "node:crypto"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, Fiber, Layer, Ref } from "effect"
import * as Reactivity from "effect/reactivity/Reactivity"
import { SqlClient } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"
import * as PgliteClient from "../../src/persistence/PgliteClient.ts"
import { PgliteWorkerClient } from "../../src/persistence/PgliteWorkerClient.ts"

const open = PgliteClient.make({}).pipe(Effect.provide(Reactivity.layer))

const reasonOf = (error: SqlError) => error.reason._tag

describe("PGlite worker thread", () => {
  layer(Layer.effect(SqlClient.SqlClient, open), { excludeTestServices: true })((it) => {
    it.effect("the event loop keeps running while a statement runs", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const ticks = yield* Ref.make(0)
        const counting = Effect.forever(
          Effect.andThen(
            Effect.sleep("10 millis"),
            Ref.update(ticks, (n) => n + 1)
          )
        )
        // On the main thread PGlite's WebAssembly runs synchronously: no timer fires before it answers (0 ticks).
        const during = (statement: Effect.Effect<unknown, SqlError>) =>
          Effect.gen(function* () {
            yield* Ref.set(ticks, 0)
            const ticker = yield* Effect.forkChild(counting)
            const result = yield* statement
            const count = yield* Ref.get(ticks)
            yield* Fiber.interrupt(ticker)
            return [result, count] as const
          })
        const [, sleeping] = yield* during(sql`SELECT pg_sleep(0.3)`)
        assert.isAtLeast(sleeping, 5, `only ${sleeping} ticks of a 10 ms timer during a 300 ms statement`)
        // A long computation (not a sleep) the same way.
        const [rows, computing] = yield* during(
          sql`SELECT count(*) AS n FROM generate_series(1, 3000000) AS g WHERE g % 7 = 0`
        )
        assert.deepStrictEqual(rows, [{ n: 428571n }])
        assert.isAtLeast(computing, 5, `only ${computing} ticks of a 10 ms timer during a long computation`)
      })
    )

    it.effect("database errors keep their class, SQLSTATE and fields across the thread", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const t = `uniq_${randomUUID().replaceAll("-", "").slice(0, 10)}`
        yield* sql`CREATE TABLE ${sql(t)} (id integer PRIMARY KEY, n integer CHECK (n > 0))`
        yield* sql`INSERT INTO ${sql(t)} (id, n) VALUES (1, 1)`
        const duplicate = yield* Effect.flip(sql`INSERT INTO ${sql(t)} (id, n) VALUES (1, 1)`)
        assert.strictEqual(duplicate.reason._tag, "UniqueViolation")
        assert.strictEqual((duplicate.reason as { constraint?: string }).constraint, `${t}_pkey`)
        const cause = duplicate.reason.cause as { code?: string; message?: string; detail?: string }
        assert.strictEqual(cause.code, "23505")
        assert.include(cause.message, "duplicate key")
        assert.include(cause.detail, "(id)=(1)")
        const check = yield* Effect.flip(sql`INSERT INTO ${sql(t)} (id, n) VALUES (2, 0)`)
        assert.strictEqual(reasonOf(check), "ConstraintError")
        assert.strictEqual(reasonOf(yield* Effect.flip(sql`SELECT nope FROM ${sql(t)}`)), "SqlSyntaxError")
        const division = yield* Effect.flip(sql.unsafe("SELECT 1/0"))
        assert.strictEqual((division.reason.cause as { code?: string }).code, "22012")
        // A parameter refused in the main thread, before anything is sent.
        assert.strictEqual(reasonOf(yield* Effect.flip(sql`SELECT ${{ a: 1 }} AS x`)), "UnknownError")
        // The connection is still good after all that.
        const [row] = yield* sql`SELECT count(*) AS n FROM ${sql(t)}`
        assert.strictEqual(row!.n, 1n)
      })
    )
  })

  it.live("a worker that dies fails the waiting statement and every later one with a ConnectionError", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const db = yield* Effect.acquireRelease(
          Effect.promise(() => PgliteWorkerClient.open({ dataDir: undefined })),
          (db) => Effect.promise(() => db.close())
        )
        const sql = yield* PgliteClient.fromWorker(db, "memory").pipe(Effect.provide(Reactivity.layer))
        assert.deepStrictEqual(yield* sql`SELECT 1 AS one`, [{ one: 1 }])
        const waiting = yield* Effect.forkChild(Effect.flip(sql`SELECT pg_sleep(600)`))
        yield* Effect.sleep("100 millis")
        // As a crash would: the thread ends without PGlite answering.
        yield* Effect.promise(() => db.worker.terminate())
        const pending = yield* Fiber.join(waiting)
        assert.strictEqual(reasonOf(pending), "ConnectionError")
        assert.include(pending.message, "worker thread exited unexpectedly")
        const later = yield* Effect.flip(sql`SELECT 1`)
        assert.strictEqual(reasonOf(later), "ConnectionError")
        assert.include(later.message, "worker thread exited unexpectedly")
        const transaction = yield* Effect.flip(sql.withTransaction(sql`SELECT 1`))
        assert.strictEqual(reasonOf(transaction), "ConnectionError")
      })
    )
  )

  it.live("an open that fails is a ConnectionError naming the folder; statements after close are refused", () =>
    Effect.gen(function* () {
      const dir = join(mkdtempSync(join(tmpdir(), "voice-stream-pglite-")), "pglite")
      const opened = PgliteClient.make({ dataDir: dir, lockWaitMs: 100 }).pipe(Effect.provide(Reactivity.layer))
      mkdirSync(dir)
      writeFileSync(join(dir, "PG_VERSION"), "garbage\n")
      const error = yield* Effect.flip(Effect.scoped(opened))
      assert.strictEqual(reasonOf(error), "ConnectionError")
      assert.include(error.message, `Cannot open the embedded database in ${dir}`)
      // The failed open let go of the folder's lock: a repaired folder opens at once.
      rmSync(dir, { recursive: true, force: true })
      const sql = yield* Effect.scoped(Effect.tap(opened, (sql) => sql`SELECT 1`))
      const closed = yield* Effect.flip(sql`SELECT 1`)
      assert.strictEqual(reasonOf(closed), "ConnectionError")
      assert.include(closed.message, "closed")
      rmSync(join(dir, ".."), { recursive: true, force: true })
    })
  )
})

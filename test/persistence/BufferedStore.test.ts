// The buffered writer under TestClock: batching off the hot path, nothing lost while the database is down (records
// wait, then spill oldest-first to disk past the limit), replay in order on recovery and at the next start, and the
// shutdown flush.
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Scope } from "effect"
import { TestClock } from "effect/testing"
import { type BufferedStoreSettings, makeBufferedStore } from "../../src/persistence/BufferedStore.ts"
import type { StoreRecord } from "../../src/persistence/Records.ts"
import { fileSpill, memorySpill } from "../../src/persistence/SpillFile.ts"
import { settle } from "../support/TestTransport.ts"

/** A database that can be switched off, recording every batch it accepted. */
class FakeDatabase {
  up = true
  /** Records the database refuses while up, as a data error would (by session id). */
  readonly poisoned = new Set<string>()
  readonly rejected = memorySpill()
  ping = Effect.suspend(() => (this.up ? Effect.void : Effect.fail("database unavailable")))
  readonly batches: Array<ReadonlyArray<StoreRecord>> = []
  attempts = 0
  /** How long each write takes (TestClock time). */
  writeMs = 0
  write = (records: ReadonlyArray<StoreRecord>) =>
    Effect.suspend(() => {
      this.attempts++
      if (this.writeMs > 0) return Effect.andThen(Effect.sleep(this.writeMs), this.accept(records))
      return this.accept(records)
    })
  private accept = (records: ReadonlyArray<StoreRecord>) =>
    Effect.suspend(() => {
      if (!this.up) return Effect.fail("database unavailable")
      if (records.some((r) => r._tag === "SessionStarted" && this.poisoned.has(r.sessionId))) {
        return Effect.fail("invalid byte sequence")
      }
      this.batches.push(records)
      return Effect.void
    })
  /** Session ids in the order they were written. */
  written = () =>
    this.batches
      .flat()
      .map((r) => (r._tag === "SessionEnded" ? `end:${r.sessionId}` : r._tag === "SessionStarted" ? r.sessionId : "?"))
}

const started = (n: number): StoreRecord => ({
  _tag: "SessionStarted",
  sessionId: `s${n}`,
  userId: "u",
  instanceId: "i",
  startedAt: n,
  clientInfo: {},
  inputFormat: null,
  outputFormat: null
})

const settings = (overrides: Partial<BufferedStoreSettings> = {}): BufferedStoreSettings => ({
  bufferMax: 10,
  batchSize: 4,
  flushIntervalMs: 50,
  retryBaseDelayMs: 100,
  retryMaxDelayMs: 1000,
  writeTimeoutMs: 2000,
  ...overrides
})

type Spill = ReturnType<typeof memorySpill>

const withStore = <A, E>(
  db: FakeDatabase,
  spill: Spill,
  s: BufferedStoreSettings,
  use: (store: Effect.Success<ReturnType<typeof makeBufferedStore<string>>>) => Effect.Effect<A, E>
) =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const store = yield* makeBufferedStore(s, {
      writeBatch: db.write,
      ping: db.ping,
      spill,
      rejected: db.rejected
    }).pipe(Scope.provide(scope))
    const result = yield* use(store)
    yield* Scope.close(scope, Exit.void)
    return result
  })

/** A store over a database that is down from the start (switch `db.up` to bring it back). */
const withDatabaseDown = <A, E>(
  s: BufferedStoreSettings,
  use: (
    store: Effect.Success<ReturnType<typeof makeBufferedStore<string>>>,
    db: FakeDatabase,
    spill: Spill
  ) => Effect.Effect<A, E>
) => {
  const db = new FakeDatabase()
  db.up = false
  const spill = memorySpill()
  return withStore(db, spill, s, (store) => use(store, db, spill))
}

const spillLines = (spill: Spill) =>
  spill
    .text()
    .split("\n")
    .filter((l) => l.length > 0)

const recordAll = (store: { record: (r: StoreRecord) => Effect.Effect<void> }, from: number, to: number) =>
  Effect.forEach(
    Array.from({ length: to - from }, (_, i) => started(from + i)),
    store.record,
    { discard: true }
  )

describe("BufferedStore", () => {
  it.effect("records are written in batches after the flush interval, in order, off the caller's path", () =>
    Effect.gen(function* () {
      const db = new FakeDatabase()
      const spill = memorySpill()
      yield* withStore(db, spill, settings(), (store) =>
        Effect.gen(function* () {
          yield* recordAll(store, 0, 10)
          assert.strictEqual(db.batches.length, 0, "record only queues")
          yield* TestClock.adjust(50)
          yield* settle
          assert.deepStrictEqual(
            db.batches.map((b) => b.length),
            [4, 4, 2]
          )
          assert.deepStrictEqual(
            db.written(),
            Array.from({ length: 10 }, (_, i) => `s${i}`)
          )
          assert.deepStrictEqual(yield* store.health, { status: "ok", pending: 0, spilled: 0, rejected: 0 })
        })
      )
    })
  )

  it.effect("records that arrive while a batch is written wait for the next interval, not a write of their own", () =>
    Effect.gen(function* () {
      const db = new FakeDatabase()
      db.writeMs = 10
      const spill = memorySpill()
      yield* withStore(db, spill, settings({ bufferMax: 100 }), (store) =>
        Effect.gen(function* () {
          yield* store.record(started(0))
          // The first write runs from 50 to 60 ms; two records come in the middle of it.
          yield* TestClock.adjust(55)
          yield* settle
          yield* recordAll(store, 1, 3)
          yield* TestClock.adjust(45)
          yield* settle
          assert.deepStrictEqual(
            db.batches.map((b) => b.length),
            [1],
            "at 100 ms the two late records are still gathering"
          )
          yield* TestClock.adjust(20)
          yield* settle
          assert.deepStrictEqual(
            db.batches.map((b) => b.length),
            [1, 2],
            "written together one interval after the first write"
          )
        })
      )
    })
  )

  it.effect("under a steady stream of records the database sees one write per interval", () =>
    Effect.gen(function* () {
      const db = new FakeDatabase()
      db.writeMs = 10
      const spill = memorySpill()
      yield* withStore(db, spill, settings({ bufferMax: 100, batchSize: 100 }), (store) =>
        Effect.gen(function* () {
          // A record every 10 ms for 600 ms: with writes of 10 ms each, a writer that wrote whatever had arrived
          // as soon as it was free would write about one batch per record.
          for (let n = 0; n < 60; n++) {
            yield* store.record(started(n))
            yield* TestClock.adjust(10)
            yield* settle
          }
          yield* TestClock.adjust(200)
          yield* settle
          assert.deepStrictEqual(
            db.written(),
            Array.from({ length: 60 }, (_, i) => `s${i}`)
          )
          // One write per 50 ms interval plus its own 10 ms: at most 600 / 60 + 1 batches.
          assert.isAtMost(db.batches.length, 11)
          assert.isAtLeast(db.batches.length, 9)
        })
      )
    })
  )

  it.effect(
    "while the database is down records wait, health says degraded, and all land in order after it returns",
    () =>
      Effect.gen(function* () {
        yield* withDatabaseDown(settings({ bufferMax: 100 }), (store, db) =>
          Effect.gen(function* () {
            yield* recordAll(store, 0, 6)
            yield* TestClock.adjust(50)
            yield* settle
            const health = yield* store.health
            assert.strictEqual(health.status, "degraded")
            assert.strictEqual(health.pending, 6)
            yield* recordAll(store, 6, 9)
            db.up = true
            yield* TestClock.adjust(5000)
            yield* settle
            assert.deepStrictEqual(
              db.written(),
              Array.from({ length: 9 }, (_, i) => `s${i}`)
            )
            assert.deepStrictEqual(yield* store.health, { status: "ok", pending: 0, spilled: 0, rejected: 0 })
          })
        )
      })
  )

  it.effect("retries back off: 100 ms, then 200 ms, each ±20 %", () =>
    Effect.gen(function* () {
      yield* withDatabaseDown(settings(), (store, db) =>
        Effect.gen(function* () {
          yield* settle
          yield* store.record(started(0))
          // First attempt after the 50 ms flush interval; the retry 80–120 ms later; the next 160–240 ms after that.
          yield* TestClock.adjust(50)
          yield* settle
          assert.strictEqual(db.attempts, 1)
          yield* TestClock.adjust(79)
          yield* settle
          assert.strictEqual(db.attempts, 1)
          yield* TestClock.adjust(41)
          yield* settle
          assert.strictEqual(db.attempts, 2)
          yield* TestClock.adjust(119)
          yield* settle
          assert.strictEqual(db.attempts, 2)
          yield* TestClock.adjust(121)
          yield* settle
          assert.strictEqual(db.attempts, 3)
        })
      )
    })
  )

  it.effect("past the buffer limit the oldest records are spilled to disk, not dropped, and replayed first", () =>
    Effect.gen(function* () {
      yield* withDatabaseDown(settings(), (store, db, spill) =>
        Effect.gen(function* () {
          yield* recordAll(store, 0, 25)
          yield* TestClock.adjust(50)
          yield* settle
          const health = yield* store.health
          assert.strictEqual(health.pending, 10)
          assert.strictEqual(health.spilled, 15)
          const lines = spillLines(spill)
          assert.deepStrictEqual(
            lines.map((l) => JSON.parse(l).sessionId),
            Array.from({ length: 15 }, (_, i) => `s${i}`)
          )
          db.up = true
          yield* TestClock.adjust(5000)
          yield* settle
          assert.deepStrictEqual(
            db.written(),
            Array.from({ length: 25 }, (_, i) => `s${i}`)
          )
          assert.strictEqual(spill.text(), "")
          assert.deepStrictEqual(yield* store.health, { status: "ok", pending: 0, spilled: 0, rejected: 0 })
        })
      )
    })
  )

  it.effect(
    "records overflowing while the database is down are spilled at once, without cutting the backoff short",
    () =>
      Effect.gen(function* () {
        yield* withDatabaseDown(settings(), (store, db) =>
          Effect.gen(function* () {
            yield* recordAll(store, 0, 10)
            yield* TestClock.adjust(50)
            yield* settle
            assert.strictEqual(db.attempts, 1, "the first write failed; the backoff (80–120 ms) runs")
            // One record over the limit at a time during the backoff, as a steady stream of turns would bring them.
            for (let n = 10; n < 20; n++) {
              yield* store.record(started(n))
              yield* TestClock.adjust(5)
              yield* settle
            }
            assert.strictEqual(db.attempts, 1, "no retry before the backoff is over")
            const health = yield* store.health
            assert.strictEqual(health.pending, 10)
            assert.strictEqual(health.spilled, 10, "each overflowing record went to the spill file right away")
            yield* TestClock.adjust(70)
            yield* settle
            assert.strictEqual(db.attempts, 2, "the retry comes when the backoff ends")
          })
        )
      })
  )

  it.effect("shutdown writes what waits; with the database down it spills, and the next start replays it", () =>
    Effect.gen(function* () {
      const spill = memorySpill()
      const first = new FakeDatabase()
      yield* withStore(first, spill, settings({ flushIntervalMs: 10_000 }), (store) =>
        Effect.gen(function* () {
          yield* recordAll(store, 0, 3)
          yield* store.shutdown(1000)
        })
      )
      assert.deepStrictEqual(first.written(), ["s0", "s1", "s2"], "flushed on shutdown, before the interval")

      const down = new FakeDatabase()
      down.up = false
      yield* withStore(down, spill, settings(), (store) =>
        Effect.gen(function* () {
          yield* recordAll(store, 3, 6)
          const fiber = yield* Effect.forkChild(store.shutdown(500))
          yield* TestClock.adjust(1000)
          yield* settle
          yield* Fiber.join(fiber)
        })
      )
      assert.strictEqual(spillLines(spill).length, 3)

      const next = new FakeDatabase()
      yield* withStore(next, spill, settings(), () =>
        Effect.gen(function* () {
          yield* TestClock.adjust(100)
          yield* settle
        })
      )
      assert.deepStrictEqual(next.written(), ["s3", "s4", "s5"])
    })
  )
})

describe("BufferedStore bad records", () => {
  it.effect("a record the database refuses while up is set aside; every other record is written, in order", () =>
    Effect.gen(function* () {
      const db = new FakeDatabase()
      db.poisoned.add("s2")
      yield* withStore(db, memorySpill(), settings(), (store) =>
        Effect.gen(function* () {
          yield* recordAll(store, 0, 6)
          // The batches are written (and split) right after the flush interval; no further time is needed.
          yield* TestClock.adjust(50)
          yield* settle
          assert.deepStrictEqual(db.written(), ["s0", "s1", "s3", "s4", "s5"])
          assert.deepStrictEqual(
            db.rejected
              .text()
              .trim()
              .split("\n")
              .map((l) => JSON.parse(l).sessionId),
            ["s2"]
          )
          assert.deepStrictEqual(yield* store.health, { status: "ok", pending: 0, spilled: 0, rejected: 1 })
        })
      )
    })
  )

  it.effect("a bad record alone in its batch is set aside too, rather than mistaken for an outage", () =>
    Effect.gen(function* () {
      const db = new FakeDatabase()
      db.poisoned.add("s0")
      yield* withStore(db, memorySpill(), settings(), (store) =>
        Effect.gen(function* () {
          yield* settle
          yield* store.record(started(0))
          yield* TestClock.adjust(50)
          yield* settle
          assert.deepStrictEqual(yield* store.health, { status: "ok", pending: 0, spilled: 0, rejected: 1 })
        })
      )
    })
  )

  it.effect("when the database is down nothing is set aside: the records wait", () =>
    Effect.gen(function* () {
      const db = new FakeDatabase()
      db.up = false
      yield* withStore(db, memorySpill(), settings(), (store) =>
        Effect.gen(function* () {
          yield* recordAll(store, 0, 3)
          yield* TestClock.adjust(2000)
          yield* settle
          assert.strictEqual(db.rejected.text(), "")
          assert.strictEqual((yield* store.health).pending, 3)
        })
      )
    })
  )
})

describe("BufferedStore write timeout", () => {
  it.effect("a database that hangs counts as failed after writeTimeoutMs: degraded, and the records still land", () =>
    Effect.gen(function* () {
      let hang = true
      const written: Array<StoreRecord> = []
      const write = (records: ReadonlyArray<StoreRecord>) =>
        hang
          ? Effect.never
          : Effect.sync(() => {
              written.push(...records)
            })
      const scope = yield* Scope.make()
      const store = yield* makeBufferedStore(settings(), {
        writeBatch: write,
        ping: Effect.suspend(() => (hang ? Effect.never : Effect.void)),
        spill: memorySpill(),
        rejected: memorySpill()
      }).pipe(Scope.provide(scope))
      yield* settle
      yield* store.record(started(1))
      yield* TestClock.adjust(50 + 1999)
      yield* settle
      assert.strictEqual((yield* store.health).status, "ok", "not yet timed out")
      // The write times out at 2 000 ms; the ping that asks whether the database answers at all takes as long.
      yield* TestClock.adjust(1 + 2000)
      yield* settle
      assert.deepStrictEqual(yield* store.health, { status: "degraded", pending: 1, spilled: 0, rejected: 0 })
      hang = false
      yield* TestClock.adjust(5000)
      yield* settle
      assert.strictEqual(written.length, 1)
      assert.strictEqual((yield* store.health).status, "ok")
      yield* Scope.close(scope, Exit.void)
    })
  )
})

describe("SpillFile on disk", () => {
  it.live("appends lines, reads them back in order, clears; a missing file reads as empty", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "vs-spill-"))
      const path = join(dir, "nested", "spill.ndjson")
      const spill = yield* fileSpill(path)
      assert.deepStrictEqual(yield* spill.readAll, [])
      yield* spill.append([started(1), started(2)])
      yield* spill.append([started(3)])
      assert.strictEqual(
        readFileSync(path, "utf8")
          .split("\n")
          .filter((l) => l).length,
        3
      )
      assert.deepStrictEqual(
        (yield* spill.readAll).map((r) => (r._tag === "SessionStarted" ? r.sessionId : "")),
        ["s1", "s2", "s3"]
      )
      yield* spill.clear
      assert.deepStrictEqual(yield* spill.readAll, [])
      rmSync(dir, { recursive: true })
    }).pipe(Effect.provide(NodeServices.layer))
  )
})

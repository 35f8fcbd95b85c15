// The session repository on both backends: idempotent batch writes, a user's sessions newest first with pagination,
// one session with its turns (and nobody else's), conversation memory, crash recovery of open sessions.
import { assert, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { runMigrations } from "../../src/persistence/Migrations.ts"
import type { StoreRecord } from "../../src/persistence/Records.ts"
import { SessionRepository } from "../../src/persistence/SessionRepository.ts"
import { type Backend, describeBackends } from "../support/Databases.ts"

const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`

const session = (n: number, userId: string, startedAt: number, instanceId = "inst-a"): StoreRecord => ({
  _tag: "SessionStarted",
  sessionId: uuid(n),
  userId,
  instanceId,
  startedAt,
  clientInfo: { name: "test" },
  inputFormat: { encoding: "pcm16", sampleRate: 16000, channels: 1 },
  outputFormat: { encoding: "pcm16", sampleRate: 24000, channels: 1 }
})

const turn = (n: number, seq: number, at: number, text = `question ${seq}`): StoreRecord => ({
  _tag: "TurnCompleted",
  sessionId: uuid(n),
  seq,
  inputKind: "text",
  userText: text,
  assistantText: `answer ${seq}`,
  interrupted: false,
  errorCode: null,
  sttMs: null,
  enrichmentMs: 20,
  llmFirstTokenMs: 300,
  ttsFirstByteMs: 150,
  firstAudioMs: 670,
  totalMs: 950.5,
  startedAt: at,
  endedAt: at + 950
})

const usage = (n: number, seq: number, id: number): StoreRecord => ({
  _tag: "UsageRecorded",
  id: uuid(900 + id),
  sessionId: uuid(n),
  turnSeq: seq,
  provider: "mock",
  kind: "llm",
  audioSeconds: 0,
  inputTokens: 0,
  outputTokens: 25,
  characters: 0,
  requests: 1,
  errors: 0,
  recordedAt: 1000
})

const ended = (n: number, at: number): StoreRecord => ({
  _tag: "SessionEnded",
  sessionId: uuid(n),
  endedAt: at,
  reason: "client_closed"
})

const withRepository = (backend: Backend) =>
  Layer.effectDiscard(Effect.asVoid(runMigrations)).pipe(
    Layer.provideMerge(SessionRepository.layer),
    Layer.provideMerge(backend.layer())
  )

describeBackends("SessionRepository", (backend) => {
  it.effect("a batch replayed after an outage inserts nothing twice; the end updates only an open session", () =>
    Effect.gen(function* () {
      const repo = yield* SessionRepository
      const batch = [session(1, "alice", 1000), turn(1, 1, 2000), usage(1, 1, 1), ended(1, 5000)]
      yield* repo.writeBatch(batch)
      yield* repo.writeBatch(batch)
      yield* repo.writeBatch([ended(1, 9999)])
      const found = yield* repo.getSession("alice", uuid(1))
      assert.isDefined(found)
      assert.strictEqual(found!.turns.length, 1)
      assert.strictEqual(found!.session.endedAt?.getTime(), 5000)
      assert.strictEqual(found!.session.endReason, "client_closed")
      assert.deepStrictEqual(found!.session.clientInfo, { name: "test" })
      assert.deepStrictEqual(found!.turns[0]!.latency, {
        sttMs: null,
        enrichmentMs: 20,
        llmFirstTokenMs: 300,
        ttsFirstByteMs: 150,
        firstAudioMs: 670,
        totalMs: 950.5
      })
      assert.strictEqual(found!.turns[0]!.startedAt.getTime(), 2000)
    }).pipe(Effect.provide(withRepository(backend)))
  )

  it.effect(
    "many sessions start and end in one batch, each row with its own values; a doubled end keeps the first",
    () =>
      Effect.gen(function* () {
        const repo = yield* SessionRepository
        const started = (n: number): StoreRecord => ({
          ...(session(n, `user-${n}`, 1000 + n) as Extract<StoreRecord, { _tag: "SessionStarted" }>),
          clientInfo: { name: `app-${n}`, quote: `it's "${n}"` },
          inputFormat: { encoding: "pcm16", sampleRate: 8000 * n, channels: 1 }
        })
        const endedAs = (n: number, at: number, reason: string): StoreRecord => ({
          _tag: "SessionEnded",
          sessionId: uuid(n),
          endedAt: at,
          reason
        })
        // Ends queued before the starts they close, and session 2 ended twice in the same batch.
        yield* repo.writeBatch([
          endedAs(1, 5001, "client_closed"),
          endedAs(2, 6002, "idle_timeout"),
          started(1),
          started(2),
          started(3),
          endedAs(2, 7002, "client_closed")
        ])
        const [one, two, three] = yield* Effect.forEach([1, 2, 3], (n) => repo.getSession(`user-${n}`, uuid(n)))
        assert.deepStrictEqual(one!.session.clientInfo, { name: "app-1", quote: `it's "1"` })
        assert.deepStrictEqual(two!.session.inputFormat, { encoding: "pcm16", sampleRate: 16000, channels: 1 })
        assert.strictEqual(one!.session.endedAt?.getTime(), 5001)
        assert.strictEqual(one!.session.endReason, "client_closed")
        assert.strictEqual(two!.session.endedAt?.getTime(), 6002)
        assert.strictEqual(two!.session.endReason, "idle_timeout")
        assert.strictEqual(three!.session.startedAt.getTime(), 1003)
        assert.isNull(three!.session.endedAt)
      }).pipe(Effect.provide(withRepository(backend)))
  )

  it.effect("a user's sessions come newest first, paginated by cursor, with no one else's", () =>
    Effect.gen(function* () {
      const repo = yield* SessionRepository
      // Two sessions share a start time, to prove the cursor breaks ties by id.
      yield* repo.writeBatch([
        session(1, "alice", 1000),
        session(2, "alice", 2000),
        session(3, "alice", 2000),
        session(4, "alice", 3000),
        session(5, "bob", 2500),
        turn(4, 1, 3100),
        turn(4, 2, 3200)
      ])
      const page1 = yield* repo.listSessions("alice", 2, undefined)
      assert.deepStrictEqual(
        page1.map((s) => s.id),
        [uuid(4), uuid(3)]
      )
      assert.strictEqual(page1[0]!.turnCount, 2)
      const page2 = yield* repo.listSessions("alice", 2, { startedAt: page1[1]!.startedAt, id: page1[1]!.id })
      assert.deepStrictEqual(
        page2.map((s) => s.id),
        [uuid(2), uuid(1)]
      )
      const page3 = yield* repo.listSessions("alice", 2, { startedAt: page2[1]!.startedAt, id: page2[1]!.id })
      assert.deepStrictEqual(page3, [])
      assert.deepStrictEqual(
        (yield* repo.listSessions("bob", 10, undefined)).map((s) => s.id),
        [uuid(5)]
      )
      assert.isUndefined(yield* repo.getSession("bob", uuid(1)), "another user's session is not found")
    }).pipe(Effect.provide(withRepository(backend)))
  )

  it.effect("the last turns of a user across sessions come oldest first, failed turns left out", () =>
    Effect.gen(function* () {
      const repo = yield* SessionRepository
      yield* repo.writeBatch([
        session(1, "alice", 1000),
        turn(1, 1, 1100, "one"),
        turn(1, 2, 1200, "two"),
        session(2, "alice", 2000),
        turn(2, 1, 2100, "three"),
        { ...(turn(2, 2, 2200, "failed") as Extract<StoreRecord, { _tag: "TurnCompleted" }>), errorCode: "llm_failed" },
        session(3, "bob", 2000),
        turn(3, 1, 2300, "bob's")
      ])
      assert.deepStrictEqual(
        (yield* repo.lastTurns("alice", 2)).map((t) => t.userText),
        ["two", "three"]
      )
    }).pipe(Effect.provide(withRepository(backend)))
  )

  it.effect("crash recovery closes this instance's open sessions and anyone's stale ones, as aborted", () =>
    Effect.gen(function* () {
      const repo = yield* SessionRepository
      yield* repo.writeBatch([
        session(1, "alice", 10_000, "inst-a"),
        session(2, "alice", 10_000, "inst-b"),
        session(3, "alice", 1_000, "inst-b"),
        session(4, "alice", 10_000, "inst-a"),
        ended(4, 11_000)
      ])
      // A session of this instance started after this process did (at 12 000) is alive and is left alone.
      yield* repo.writeBatch([session(5, "alice", 13_000, "inst-a")])
      const closed = yield* repo.closeAbandoned({
        instanceId: "inst-a",
        ownStartedBefore: new Date(12_000),
        staleBefore: new Date(5_000),
        now: new Date(20_000)
      })
      assert.strictEqual(closed, 2)
      const byId = new Map((yield* repo.listSessions("alice", 10, undefined)).map((s) => [s.id, s]))
      assert.strictEqual(byId.get(uuid(1))?.endReason, "aborted")
      assert.strictEqual(byId.get(uuid(2))?.endedAt, null, "another live instance's recent session is left alone")
      assert.strictEqual(byId.get(uuid(3))?.endReason, "aborted")
      assert.strictEqual(byId.get(uuid(4))?.endReason, "client_closed")
      assert.strictEqual(byId.get(uuid(5))?.endedAt, null, "started after this process: alive")
    }).pipe(Effect.provide(withRepository(backend)))
  )
})

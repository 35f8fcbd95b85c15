// The buffered writer behind SessionStore: records queue in memory and are written in batches, off the audio path.
// While the database fails, they wait and are retried with backoff. Past the buffer limit the OLDEST records move to
// an append-only spill file (never dropped); the file is replayed first once writes succeed again, and at the next
// start. On shutdown what is left is written within the grace period, and anything still unwritten is spilled.
//
// Only the writer fiber touches the head of the buffer and the spill file; `record` only appends and wakes it. So the
// file always holds records older than any in memory, and replaying file-then-memory keeps their order.
import { Clock, Duration, Effect, Fiber, Queue } from "effect"
import { backoffDelay } from "../pipeline/Resilience.ts"
import type { StoreRecord } from "./Records.ts"
import type { StoreHealth } from "./SessionStore.ts"
import type { SpillFile } from "./SpillFile.ts"

export interface BufferedStoreSettings {
  readonly bufferMax: number
  readonly batchSize: number
  readonly flushIntervalMs: number
  readonly retryBaseDelayMs: number
  readonly retryMaxDelayMs: number
  /** A write that takes longer counts as failed (a database that hangs is as down as one that refuses). */
  readonly writeTimeoutMs: number
}

export type WriteBatch<E> = (records: ReadonlyArray<StoreRecord>) => Effect.Effect<void, E>

/** Where the writer stands: the database's own writes, a cheap "are you there?", and the two files. */
export interface StoreBackend<E> {
  readonly writeBatch: WriteBatch<E>
  /** Succeeds when the database answers at all; tells a bad record from a database that is down. */
  readonly ping: Effect.Effect<void, unknown>
  /** Records waiting for the database (oldest first). */
  readonly spill: SpillFile
  /** Records the database refused while it was up (bad data): kept for an operator, never retried. */
  readonly rejected: SpillFile
}

/** Failures are logged at most this often while the database stays down. */
const FailureLogIntervalMs = 10_000

export const makeBufferedStore = Effect.fnUntraced(function* <E>(
  settings: BufferedStoreSettings,
  backend: StoreBackend<E>
) {
  const { writeBatch, spill: spillFile } = backend
  /**
   * A write bounded by writeTimeoutMs. It runs in its own fiber, so a driver stuck where it cannot be interrupted
   * (connecting, say) does not hold the writer: on timeout it is told to stop and left behind. Detached, because the
   * last writes happen while the store's own scope is closing. Writes are idempotent, so one that commits late is
   * harmless when its batch is written again.
   */
  const write = (records: ReadonlyArray<StoreRecord>) =>
    Effect.gen(function* () {
      const fiber = yield* Effect.forkDetach(writeBatch(records))
      const result = yield* Fiber.join(fiber).pipe(
        Effect.timeoutOption(Duration.millis(settings.writeTimeoutMs)),
        Effect.onInterrupt(() => Effect.forkDetach(Fiber.interrupt(fiber)))
      )
      if (result._tag === "Some") return
      yield* Effect.forkDetach(Fiber.interrupt(fiber))
      return yield* Effect.fail(`database write timed out after ${settings.writeTimeoutMs} ms`)
    })
  const pending: Array<StoreRecord> = []
  /** Signals the idle writer that records arrived. */
  const wake = yield* Queue.dropping<void>(1)
  /** Signals the writer, waiting out a backoff, that the buffer is over its limit and must spill now. */
  const overflow = yield* Queue.dropping<void>(1)
  let spilled = 0
  /** Records of the batch being written: they count as waiting until the database has them. */
  let inFlight = 0
  /** Records the database refused as bad data (set aside in the rejected file). */
  let rejected = 0
  let failures = 0
  let lastFailureLogAt = Number.NEGATIVE_INFINITY

  const appendToSpill = (records: ReadonlyArray<StoreRecord>) =>
    records.length === 0
      ? Effect.void
      : spillFile.append(records).pipe(
          Effect.tap(() =>
            Effect.sync(() => {
              spilled += records.length
            })
          )
        )

  /** Past the limit, the oldest records in memory go to the spill file (kept in memory if the disk fails too). */
  const spillOverflow = Effect.suspend(() => {
    if (pending.length <= settings.bufferMax) return Effect.void
    const oldest = pending.splice(0, pending.length - settings.bufferMax)
    return appendToSpill(oldest).pipe(
      Effect.tap(() =>
        Effect.logWarning("session store: buffer full, oldest records spilled", { records: oldest.length })
      ),
      Effect.catch((error) =>
        Effect.sync(() => {
          pending.unshift(...oldest)
        }).pipe(Effect.andThen(Effect.logError("session store: spilling to disk failed", { error: String(error) })))
      )
    )
  })

  /** Writes the spill file (oldest first) if any, else one batch from memory; a failed batch returns to the head. */
  /**
   * Writes a chunk. When it fails while the database answers, the chunk holds bad data: each record is tried alone
   * and those the database refuses are moved to the rejected file (and counted), so one bad record never blocks the
   * rest. When the database does not answer, the failure stands and the records wait.
   */
  const writeChunk = (chunk: ReadonlyArray<StoreRecord>) =>
    write(chunk).pipe(
      Effect.catch((error) =>
        Effect.gen(function* () {
          const answers = yield* backend.ping.pipe(
            Effect.timeoutOption(Duration.millis(settings.writeTimeoutMs)),
            Effect.match({ onFailure: () => false, onSuccess: (pong) => pong._tag === "Some" })
          )
          if (!answers) return yield* Effect.fail(error)
          const refused: Array<StoreRecord> = []
          for (const record of chunk) {
            if ((yield* Effect.result(write([record])))._tag === "Failure") refused.push(record)
          }
          // Every record of several refused while the database answers looks systematic (a schema out of step, say):
          // treat it as an outage and keep them. A single record refused on its own is bad data.
          if (refused.length === chunk.length && chunk.length > 1) return yield* Effect.fail(error)
          if (refused.length > 0) {
            yield* backend.rejected.append(refused).pipe(Effect.ignore)
            rejected += refused.length
            yield* Effect.logError("session store: records refused by the database were set aside", {
              records: refused.length,
              kinds: [...new Set(refused.map((r) => r._tag))],
              error: String(error)
            })
          }
        })
      )
    )

  const writeOnce = Effect.gen(function* () {
    if (spilled > 0) {
      const records = yield* spillFile.readAll
      for (let i = 0; i < records.length; i += settings.batchSize) {
        yield* writeChunk(records.slice(i, i + settings.batchSize))
      }
      yield* spillFile.clear
      spilled = 0
      yield* Effect.logInfo("session store: spilled records replayed", { records: records.length })
      return
    }
    const batch = pending.splice(0, settings.batchSize)
    if (batch.length === 0) return
    inFlight = batch.length
    yield* writeChunk(batch).pipe(
      Effect.onExit((exit) =>
        Effect.sync(() => {
          inFlight = 0
          if (exit._tag !== "Success") pending.unshift(...batch)
        })
      )
    )
  })

  const onFailure = (error: unknown) =>
    Effect.gen(function* () {
      failures++
      const now = yield* Clock.currentTimeMillis
      if (now - lastFailureLogAt >= FailureLogIntervalMs) {
        lastFailureLogAt = now
        yield* Effect.logWarning("session store degraded: database writes failing, records wait", {
          pending: pending.length,
          spilled,
          error: String(error)
        })
      }
      // Wait out the whole backoff; when the buffer overflows meanwhile, spill at once and go on waiting (a retry per
      // overflowing record would hammer a database that is down).
      const until = now + Duration.toMillis(yield* backoffDelay(settings, failures))
      while (true) {
        const left = until - (yield* Clock.currentTimeMillis)
        if (left <= 0) return
        const overflowed = yield* Effect.raceFirst(
          Effect.as(Effect.sleep(left), false),
          Effect.as(Queue.take(overflow), true)
        )
        if (!overflowed) return
        yield* spillOverflow
      }
    })

  const hasWork = () => pending.length > 0 || spilled > 0

  /** Writes what waits now (the spill file, then batches back to back); what arrives meanwhile waits its turn. */
  const writeWaiting = Effect.gen(function* () {
    let rounds = (spilled > 0 ? 1 : 0) + Math.ceil(pending.length / settings.batchSize)
    while (rounds-- > 0 && hasWork()) {
      // Records keep arriving during a long round: past the limit the oldest still go to the spill file first.
      yield* spillOverflow
      yield* writeOnce
    }
  })

  const writerLoop = Effect.gen(function* () {
    while (true) {
      if (!hasWork()) yield* Queue.take(wake)
      // Records that come within the interval go in the same transaction: under a steady stream of records the
      // database sees one round of writes per interval, not one per record or per write's duration. A retry after a
      // failure waits its backoff (in onFailure) instead.
      if (failures === 0) yield* Effect.sleep(settings.flushIntervalMs)
      yield* spillOverflow
      const result = yield* Effect.result(writeWaiting)
      if (result._tag === "Failure") yield* onFailure(result.failure)
      else if (failures > 0) {
        failures = 0
        yield* Effect.logInfo("session store recovered", { pending: pending.length })
      }
    }
  })

  // A spill file left by an earlier run is replayed first.
  spilled = (yield* spillFile.readAll).length
  const writer = yield* Effect.forkScoped(writerLoop)

  const record = (item: StoreRecord) =>
    Effect.sync(() => {
      pending.push(item)
      Queue.offerUnsafe(wake, undefined)
      if (pending.length > settings.bufferMax) Queue.offerUnsafe(overflow, undefined)
    })

  const health: Effect.Effect<StoreHealth> = Effect.sync(() => ({
    status: failures > 0 ? "degraded" : "ok",
    pending: pending.length + inFlight,
    spilled,
    rejected
  }))

  /** Stops the writer, writes what waits until done or `graceMs` passes, and spills whatever is left. */
  const shutdown = (graceMs: number) =>
    Effect.gen(function* () {
      yield* Fiber.interrupt(writer)
      const drain = Effect.gen(function* () {
        while (hasWork()) yield* writeOnce
      })
      const drained = yield* drain.pipe(Effect.timeoutOption(Duration.millis(graceMs)), Effect.result)
      if (pending.length > 0) {
        const left = pending.splice(0)
        yield* appendToSpill(left).pipe(Effect.ignore)
        yield* Effect.logWarning("session store: records not written before shutdown were spilled to disk", {
          records: left.length,
          reason: drained._tag === "Failure" ? "database failing" : "grace period over"
        })
      }
    })

  return { record, health, shutdown }
})

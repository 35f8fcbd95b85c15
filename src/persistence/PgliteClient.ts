// A SqlClient over PGlite (Postgres compiled to WebAssembly), for machines without a PostgreSQL server. PGlite runs in
// a worker thread of this process (PgliteWorker.ts, reached through PgliteWorkerClient.ts), so its synchronous work
// does not stall the event loop. PGlite is ONE backend session, so every statement and every transaction takes the
// single connection through a semaphore of one permit: a transaction holds it from BEGIN to COMMIT/ROLLBACK, and
// statements of other fibers wait. The SQL dialect and statement compiler are @effect/sql-pg's, and values are
// converted to match it (PgliteValues.ts): parameters to text here, results parsed in the worker.

import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Semaphore, Stream } from "effect"
import * as Reactivity from "effect/reactivity/Reactivity"
import type { Scope } from "effect/Scope"
import { SqlClient } from "effect/sql"
import type { Connection } from "effect/sql/SqlConnection"
import {
  AuthorizationError,
  ConnectionError,
  ConstraintError,
  DeadlockError,
  LockTimeoutError,
  SerializationError,
  SqlError,
  type SqlErrorReason,
  SqlSyntaxError,
  StatementTimeoutError,
  UniqueViolation,
  UnknownError
} from "effect/sql/SqlError"
import { lockDataDir } from "./DataDirLock.ts"
import { toTextParameter, UnsupportedParameter } from "./PgliteValues.ts"
import { PgliteWorkerClient } from "./PgliteWorkerClient.ts"
import type { WorkerResult } from "./PgliteWorkerProtocol.ts"

export interface PgliteOptions {
  /** Folder of the database files (created if missing, locked against other processes); undefined: in memory. */
  readonly dataDir?: string | undefined
  /** How long to wait for another process holding the folder. */
  readonly lockWaitMs?: number | undefined
}

/** The extra a PGlite connection offers: several statements in one text (PostgreSQL's simple query protocol). */
export interface ScriptConnection extends Connection {
  readonly executeScript: (sql: string) => Effect.Effect<void, SqlError>
}

export const isScriptConnection = (connection: Connection): connection is ScriptConnection =>
  typeof (connection as Partial<ScriptConnection>).executeScript === "function"

/** SQLSTATE → SqlError reason, the same classes @effect/sql-pg uses. */
const classify = (code: string | undefined, props: { cause: unknown; message: string; operation: string }) => {
  if (code === undefined) return new UnknownError(props)
  if (code.startsWith("08")) return new ConnectionError(props)
  if (code === "42501") return new AuthorizationError(props)
  if (code.startsWith("42")) return new SqlSyntaxError(props)
  if (code === "23505") {
    const constraint = (props.cause as { constraint?: unknown }).constraint
    return new UniqueViolation({ ...props, constraint: typeof constraint === "string" ? constraint : "unknown" })
  }
  if (code.startsWith("23")) return new ConstraintError(props)
  if (code === "40P01") return new DeadlockError(props)
  if (code === "40001") return new SerializationError(props)
  if (code === "55P03") return new LockTimeoutError(props)
  if (code === "57014") return new StatementTimeoutError(props)
  return new UnknownError(props)
}

const toSqlError = (operation: string) => (error: unknown) => {
  const code = (error as { code?: unknown } | undefined)?.code
  const message = error instanceof Error ? error.message : String(error)
  const reason: SqlErrorReason =
    error instanceof UnsupportedParameter
      ? new UnknownError({ cause: error, message, operation })
      : classify(typeof code === "string" ? code : undefined, { cause: error, message, operation })
  return new SqlError({ reason })
}

type Rows = ReadonlyArray<Record<string, unknown>>
type TransformRows = (<A extends object>(rows: ReadonlyArray<A>) => ReadonlyArray<A>) | undefined

class PgliteConnection implements ScriptConnection {
  readonly db: PgliteWorkerClient
  constructor(db: PgliteWorkerClient) {
    this.db = db
  }

  /**
   * One statement through the extended protocol. Uninterruptible: once sent to the worker it cannot be cancelled, so
   * wait for the answer (and keep the connection until then).
   */
  private run(sql: string, params: ReadonlyArray<unknown>, rowMode: "object" | "array", operation: string) {
    return Effect.uninterruptible(
      Effect.tryPromise({
        try: () => this.db.request({ op: "query", sql, params: params.map(toTextParameter), rowMode }),
        catch: toSqlError(operation)
      })
    )
  }

  execute(sql: string, params: ReadonlyArray<unknown>, transformRows: TransformRows) {
    const rows = Effect.map(this.run(sql, params, "object", "execute"), (r) => r.rows as Rows)
    return transformRows ? Effect.map(rows, transformRows) : rows
  }
  executeRaw(sql: string, params: ReadonlyArray<unknown>): Effect.Effect<WorkerResult, SqlError> {
    return this.run(sql, params, "object", "executeRaw")
  }
  executeStream(sql: string, params: ReadonlyArray<unknown>, transformRows: TransformRows) {
    // No cursors across the thread: the rows are read at once, then streamed.
    return Stream.fromIterableEffect(this.execute(sql, params, transformRows))
  }
  executeValues(sql: string, params: ReadonlyArray<unknown>) {
    return Effect.map(
      this.run(sql, params, "array", "executeValues"),
      (r) => r.rows as ReadonlyArray<ReadonlyArray<unknown>>
    )
  }
  executeValuesUnprepared(sql: string, params: ReadonlyArray<unknown>) {
    return this.executeValues(sql, params)
  }
  executeUnprepared(sql: string, params: ReadonlyArray<unknown>, transformRows: TransformRows) {
    // PGlite always uses the unnamed statement: prepared and unprepared are the same path.
    return this.execute(sql, params, transformRows)
  }
  executeScript(sql: string) {
    return Effect.uninterruptible(
      Effect.tryPromise({ try: () => this.db.request({ op: "exec", sql }), catch: toSqlError("executeScript") })
    ).pipe(Effect.asVoid)
  }
}

/** PostgreSQL answers COMMIT with ROLLBACK when the transaction had failed; that must not pass for a commit. */
const commit = (connection: Connection) =>
  Effect.flatMap(connection.executeRaw("COMMIT", []), (result) =>
    (result as WorkerResult).command === "ROLLBACK"
      ? Effect.fail(
          new SqlError({
            reason: new UnknownError({
              cause: new Error("COMMIT rolled back an aborted transaction"),
              message: "PGlite: COMMIT rolled back an aborted transaction",
              operation: "commit"
            })
          })
        )
      : Effect.void
  )

/** PGlite opened in its worker for the current scope; on close, PGlite is closed and then the worker ended. */
const open = (options: PgliteOptions) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: () => PgliteWorkerClient.open({ dataDir: options.dataDir }),
      catch: (error) =>
        new SqlError({
          reason: new ConnectionError({
            cause: error,
            message: `Cannot open the embedded database${options.dataDir === undefined ? "" : ` in ${options.dataDir}`}: ${String(error)}`,
            operation: "connect"
          })
        })
    }),
    (db) => Effect.promise(() => db.close())
  )

/**
 * A SqlClient over an open PGlite worker (one connection behind a semaphore). `make` is the usual way in; this one is
 * for tests that need the worker itself.
 */
export const fromWorker = Effect.fnUntraced(function* (
  db: PgliteWorkerClient,
  address: string
): Effect.fn.Return<SqlClient.SqlClient, never, Reactivity.Reactivity> {
  const connection = new PgliteConnection(db)
  const semaphore = yield* Semaphore.make(1)
  // Held until the scope of the statement, stream or transaction closes.
  const lease = Effect.as(semaphore.takeScoped(1), connection as Connection)
  return yield* SqlClient.make({
    acquirer: lease,
    borrower: (f) => semaphore.withPermit(f(connection)),
    transactionAcquirer: lease,
    compiler: PgClient.makeCompiler(),
    driver: "pglite",
    commit,
    releaseSavepoint: (name) => `RELEASE SAVEPOINT ${name}`,
    spanAttributes: [
      ["db.system.name", "postgresql"],
      ["db.namespace", "pglite"],
      ["server.address", address]
    ]
  })
})

/** A SqlClient over a new PGlite instance, open for the current scope (then closed, and its folder unlocked). */
export const make = Effect.fnUntraced(function* (
  options: PgliteOptions
): Effect.fn.Return<SqlClient.SqlClient, SqlError, Scope | Reactivity.Reactivity> {
  // The lock is taken first, so it is released last: after PGlite closed and its worker ended.
  if (options.dataDir !== undefined) yield* lockDataDir(options.dataDir, options.lockWaitMs)
  return yield* fromWorker(yield* open(options), options.dataDir ?? "memory")
})

/** SqlClient over PGlite for the layer's lifetime. */
export const layer = (options: PgliteOptions): Layer.Layer<SqlClient.SqlClient, SqlError> =>
  Layer.effect(SqlClient.SqlClient, make(options)).pipe(Layer.provide(Reactivity.layer))

// SQL for sessions, turns and usage, shared by Postgres and the embedded database. Writes are idempotent (every
// row has a server-chosen key), so a batch retried or replayed from the spill file never inserts twice.
import { Context, Effect, Layer } from "effect"
import { SqlClient, type SqlError } from "effect/sql"
import type { StoreRecord } from "./Records.ts"

export interface SessionRow {
  readonly id: string
  readonly userId: string
  readonly startedAt: Date
  readonly endedAt: Date | null
  readonly endReason: string | null
  readonly clientInfo: unknown
  readonly inputFormat: unknown
  readonly outputFormat: unknown
  readonly turnCount: number
}

export interface TurnRow {
  readonly seq: number
  readonly inputKind: string
  readonly userText: string
  readonly assistantText: string
  readonly interrupted: boolean
  readonly errorCode: string | null
  readonly latency: {
    readonly sttMs: number | null
    readonly enrichmentMs: number | null
    readonly llmFirstTokenMs: number | null
    readonly ttsFirstByteMs: number | null
    readonly firstAudioMs: number | null
    readonly totalMs: number | null
  }
  readonly startedAt: Date
  readonly endedAt: Date
}

/** A page boundary: sessions started strictly before this point, in (startedAt, id) order. */
export interface SessionCursor {
  readonly startedAt: Date
  readonly id: string
}

const withoutNul = <A>(value: A): A =>
  typeof value === "string"
    ? (value.replaceAll("\u0000", "") as A)
    : Array.isArray(value)
      ? (value.map(withoutNul) as A)
      : value !== null && typeof value === "object"
        ? (Object.fromEntries(Object.entries(value).map(([k, v]) => [withoutNul(k), withoutNul(v)])) as A)
        : value

const toDate = (value: unknown): Date => (value instanceof Date ? value : new Date(String(value)))
const toJson = (value: unknown): unknown => (typeof value === "string" ? JSON.parse(value) : value)
const toNumberOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value))

export class SessionRepository extends Context.Service<
  SessionRepository,
  {
    readonly writeBatch: (records: ReadonlyArray<StoreRecord>) => Effect.Effect<void, SqlError.SqlError>
    /**
     * Ends sessions left open by a dead instance: this instance's own started before `ownStartedBefore` (this
     * process's start), and anyone's started before `staleBefore`.
     */
    readonly closeAbandoned: (options: {
      readonly instanceId: string
      readonly ownStartedBefore: Date
      readonly staleBefore: Date
      readonly now: Date
    }) => Effect.Effect<number, SqlError.SqlError>
    /** A trivial query: succeeds when the database answers. */
    readonly ping: Effect.Effect<void, SqlError.SqlError>
    readonly listSessions: (
      userId: string,
      limit: number,
      before: SessionCursor | undefined
    ) => Effect.Effect<ReadonlyArray<SessionRow>, SqlError.SqlError>
    readonly getSession: (
      userId: string,
      id: string
    ) => Effect.Effect<{ session: SessionRow; turns: ReadonlyArray<TurnRow> } | undefined, SqlError.SqlError>
    /** The user's last `count` turns across sessions, oldest first. */
    readonly lastTurns: (userId: string, count: number) => Effect.Effect<ReadonlyArray<TurnRow>, SqlError.SqlError>
  }
>()("voice-stream/persistence/SessionRepository") {
  static readonly layer = Layer.effect(
    SessionRepository,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient

      type Record_<T extends StoreRecord["_tag"]> = Extract<StoreRecord, { _tag: T }>

      // JSON goes in as text: an untyped parameter takes the column's type (jsonb) in INSERT … VALUES.
      const sessionRow = (record: Record_<"SessionStarted">) => ({
        id: record.sessionId,
        user_id: record.userId,
        instance_id: record.instanceId,
        started_at: new Date(record.startedAt),
        client_info: JSON.stringify(record.clientInfo),
        input_format: JSON.stringify(record.inputFormat),
        output_format: JSON.stringify(record.outputFormat)
      })

      const turnRow = (record: Record_<"TurnCompleted">) => ({
        session_id: record.sessionId,
        seq: record.seq,
        input_kind: record.inputKind,
        user_text: record.userText,
        assistant_text: record.assistantText,
        interrupted: record.interrupted,
        error_code: record.errorCode,
        stt_ms: record.sttMs,
        enrichment_ms: record.enrichmentMs,
        llm_first_token_ms: record.llmFirstTokenMs,
        tts_first_byte_ms: record.ttsFirstByteMs,
        first_audio_ms: record.firstAudioMs,
        total_ms: record.totalMs,
        started_at: new Date(record.startedAt),
        ended_at: new Date(record.endedAt)
      })

      const usageRow = (record: Record_<"UsageRecorded">) => ({
        id: record.id,
        session_id: record.sessionId,
        turn_seq: record.turnSeq,
        provider: record.provider,
        kind: record.kind,
        audio_seconds: record.audioSeconds,
        input_tokens: record.inputTokens,
        output_tokens: record.outputTokens,
        characters: record.characters,
        requests: record.requests,
        errors: record.errors,
        recorded_at: new Date(record.recordedAt)
      })

      /**
       * Ends sessions in one statement: the ends come as three parallel arrays. A session already ended keeps its
       * first end, and when a batch ends the same session twice the earliest row wins (a replayed end changes nothing).
       */
      const endSessions = (records: ReadonlyArray<Record_<"SessionEnded">>) => sql`
        UPDATE sessions AS s SET ended_at = e.ended_at, end_reason = e.reason
        FROM (
          SELECT DISTINCT ON (id) id, ended_at, reason
          FROM unnest(${records.map((r) => r.sessionId)}::uuid[],
                      ${records.map((r) => new Date(r.endedAt).toISOString())}::timestamptz[],
                      ${records.map((r) => r.reason)}::text[]) AS u(id, ended_at, reason)
          ORDER BY id, ended_at
        ) AS e
        WHERE s.id = e.id AND s.ended_at IS NULL`

      /** At most this many rows per INSERT (PostgreSQL takes at most 65,535 parameters per statement). */
      const rowsPerInsert = 500

      /**
       * A batch in one transaction: sessions first, then turns and usage, then session ends, each as one statement
       * per table (not per record; each statement is a round trip to the database or its worker), so every row
       * finds its session whatever order it was queued in.
       */
      const writeBatch = (input: ReadonlyArray<StoreRecord>) =>
        Effect.gen(function* () {
          // Postgres text cannot hold NUL; the protocol refuses it, and this keeps any that slipped through writable.
          const records = input.map(withoutNul)
          const of = <T extends StoreRecord["_tag"]>(tag: T) =>
            records.filter((record): record is Record_<T> => record._tag === tag)
          const chunks = <A>(rows: ReadonlyArray<A>) => {
            const out: Array<ReadonlyArray<A>> = []
            for (let i = 0; i < rows.length; i += rowsPerInsert) out.push(rows.slice(i, i + rowsPerInsert))
            return out
          }
          for (const rows of chunks(of("SessionStarted").map(sessionRow))) {
            yield* sql`INSERT INTO sessions ${sql.insert(rows as [ReturnType<typeof sessionRow>])}
                       ON CONFLICT (id) DO NOTHING`
          }
          for (const rows of chunks(of("TurnCompleted").map(turnRow))) {
            yield* sql`INSERT INTO turns ${sql.insert(rows as [ReturnType<typeof turnRow>])}
                       ON CONFLICT (session_id, seq) DO NOTHING`
          }
          for (const rows of chunks(of("UsageRecorded").map(usageRow))) {
            yield* sql`INSERT INTO provider_usage ${sql.insert(rows as [ReturnType<typeof usageRow>])}
                       ON CONFLICT (id) DO NOTHING`
          }
          for (const rows of chunks(of("SessionEnded"))) yield* endSessions(rows)
        })

      const toSession = (row: Record<string, unknown>): SessionRow => ({
        id: String(row.id),
        userId: String(row.user_id),
        startedAt: toDate(row.started_at),
        endedAt: row.ended_at === null ? null : toDate(row.ended_at),
        endReason: (row.end_reason as string | null) ?? null,
        clientInfo: toJson(row.client_info),
        inputFormat: toJson(row.input_format),
        outputFormat: toJson(row.output_format),
        turnCount: Number(row.turn_count ?? 0)
      })

      const toTurn = (row: Record<string, unknown>): TurnRow => ({
        seq: Number(row.seq),
        inputKind: String(row.input_kind),
        userText: String(row.user_text),
        assistantText: String(row.assistant_text),
        interrupted: Boolean(row.interrupted),
        errorCode: (row.error_code as string | null) ?? null,
        latency: {
          sttMs: toNumberOrNull(row.stt_ms),
          enrichmentMs: toNumberOrNull(row.enrichment_ms),
          llmFirstTokenMs: toNumberOrNull(row.llm_first_token_ms),
          ttsFirstByteMs: toNumberOrNull(row.tts_first_byte_ms),
          firstAudioMs: toNumberOrNull(row.first_audio_ms),
          totalMs: toNumberOrNull(row.total_ms)
        },
        startedAt: toDate(row.started_at),
        endedAt: toDate(row.ended_at)
      })

      const sessionColumns = sql`s.id, s.user_id, s.started_at, s.ended_at, s.end_reason, s.client_info,
        s.input_format, s.output_format, (SELECT count(*) FROM turns t WHERE t.session_id = s.id) AS turn_count`

      return SessionRepository.of({
        writeBatch: (records) => sql.withTransaction(writeBatch(records)),
        closeAbandoned: ({ instanceId, ownStartedBefore, staleBefore, now }) =>
          sql`
            UPDATE sessions SET ended_at = ${now}, end_reason = 'aborted'
            WHERE ended_at IS NULL
              AND ((instance_id = ${instanceId} AND started_at < ${ownStartedBefore}) OR started_at < ${staleBefore})
            RETURNING id`.pipe(Effect.map((rows) => rows.length)),
        ping: Effect.asVoid(sql`SELECT 1`),
        listSessions: (userId, limit, before) =>
          (before === undefined
            ? sql`SELECT ${sessionColumns} FROM sessions s WHERE s.user_id = ${userId}
                  ORDER BY s.started_at DESC, s.id DESC LIMIT ${limit}`
            : sql`SELECT ${sessionColumns} FROM sessions s WHERE s.user_id = ${userId}
                  AND (s.started_at, s.id) < (${before.startedAt}, ${before.id}::uuid)
                  ORDER BY s.started_at DESC, s.id DESC LIMIT ${limit}`
          ).pipe(Effect.map((rows) => rows.map(toSession))),
        getSession: (userId, id) =>
          Effect.gen(function* () {
            const rows = yield* sql`SELECT ${sessionColumns} FROM sessions s
                                    WHERE s.id = ${id}::uuid AND s.user_id = ${userId}`
            if (rows.length === 0) return undefined
            const turns = yield* sql`SELECT * FROM turns WHERE session_id = ${id}::uuid ORDER BY seq`
            return { session: toSession(rows[0]!), turns: turns.map(toTurn) }
          }),
        lastTurns: (userId, count) =>
          sql`
            SELECT t.* FROM turns t JOIN sessions s ON s.id = t.session_id
            WHERE s.user_id = ${userId} AND t.error_code IS NULL
            ORDER BY t.started_at DESC LIMIT ${count}`.pipe(Effect.map((rows) => rows.map(toTurn).reverse()))
      })
    })
  )
}

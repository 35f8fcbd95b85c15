// Settings of the session store: the write buffer, instance identity for crash recovery, conversation memory.
import { hostname } from "node:os"
import { Effect } from "effect"
import { intVar, stringVar } from "./readVar.ts"

export interface StoreSettings {
  /** Names this instance in the sessions it records; at start it closes its own sessions left open by a crash. */
  readonly instanceId: string
  /** Records kept in memory while the database is slow or down; past it the oldest go to the spill file. */
  readonly bufferMax: number
  readonly batchSize: number
  readonly flushIntervalMs: number
  readonly retryBaseDelayMs: number
  readonly retryMaxDelayMs: number
  /** A database write taking longer than this counts as failed; the records wait and are retried. */
  readonly writeTimeoutMs: number
  /** Open sessions of OTHER instances older than this are taken as abandoned by a dead instance. */
  readonly staleSessionMs: number
  /** Turns of the user's earlier sessions given to the LLM at the start of a new one (0 = off). */
  readonly historyTurns: number
}

export const readStoreSettings = (port: number) =>
  Effect.all({
    instanceId: stringVar("STREAM_INSTANCE_ID", `${hostname()}:${port}`),
    bufferMax: intVar("STREAM_STORE_BUFFER_MAX", 10000, 1),
    batchSize: intVar("STREAM_STORE_BATCH_SIZE", 200, 1, 10000),
    flushIntervalMs: intVar("STREAM_STORE_FLUSH_MS", 250, 0, 60000),
    retryBaseDelayMs: intVar("STREAM_STORE_RETRY_BASE_MS", 250, 1),
    retryMaxDelayMs: intVar("STREAM_STORE_RETRY_MAX_MS", 10000, 1),
    writeTimeoutMs: intVar("STREAM_STORE_WRITE_TIMEOUT_MS", 5000, 1),
    staleSessionMs: intVar("STREAM_STALE_SESSION_MS", 24 * 3600 * 1000, 60000),
    historyTurns: intVar("STREAM_HISTORY_TURNS", 0, 0, 100)
  })

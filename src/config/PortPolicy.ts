// The resilience settings of one pipeline port (timeouts, retries, concurrency), read from STREAM_<PORT>_*.
import { Effect } from "effect"
import { intVar } from "./readVar.ts"

export type PortName = "stt" | "llm" | "tts" | "enrichment"

export interface PortPolicy {
  /** Longest wait for the first useful chunk of a call (a final transcript, a token, an audio byte). */
  readonly firstChunkTimeoutMs: number
  /** Longest wait between two chunks once a call is streaming. */
  readonly idleTimeoutMs: number
  /** Retries after the first attempt, for retryable errors that happen before any output. */
  readonly retries: number
  /** Delay before the first retry; doubles each retry (with ±20 % jitter), capped at retryMaxDelayMs. */
  readonly retryBaseDelayMs: number
  readonly retryMaxDelayMs: number
  /** Calls in flight at once on this port across the whole instance; more wait their turn. */
  readonly concurrency: number
}

export const PortPolicyDefaults: Readonly<Record<PortName, PortPolicy>> = {
  stt: {
    firstChunkTimeoutMs: 5000,
    idleTimeoutMs: 30000,
    retries: 2,
    retryBaseDelayMs: 200,
    retryMaxDelayMs: 2000,
    concurrency: 1000
  },
  llm: {
    firstChunkTimeoutMs: 10000,
    idleTimeoutMs: 10000,
    retries: 2,
    retryBaseDelayMs: 250,
    retryMaxDelayMs: 4000,
    concurrency: 200
  },
  tts: {
    firstChunkTimeoutMs: 5000,
    idleTimeoutMs: 5000,
    retries: 2,
    retryBaseDelayMs: 200,
    retryMaxDelayMs: 2000,
    concurrency: 200
  },
  enrichment: {
    firstChunkTimeoutMs: 2000,
    idleTimeoutMs: 2000,
    retries: 1,
    retryBaseDelayMs: 100,
    retryMaxDelayMs: 1000,
    concurrency: 500
  }
}

const prefix = (port: PortName) => `STREAM_${port.toUpperCase()}`

export const readPortPolicy = (port: PortName) => {
  const d = PortPolicyDefaults[port]
  const p = prefix(port)
  return Effect.all({
    firstChunkTimeoutMs: intVar(`${p}_TIMEOUT_MS`, d.firstChunkTimeoutMs, 1),
    idleTimeoutMs: intVar(`${p}_IDLE_TIMEOUT_MS`, d.idleTimeoutMs, 1),
    retries: intVar(`${p}_RETRIES`, d.retries, 0, 10),
    retryBaseDelayMs: intVar(`${p}_RETRY_BASE_MS`, d.retryBaseDelayMs, 1),
    retryMaxDelayMs: intVar(`${p}_RETRY_MAX_MS`, d.retryMaxDelayMs, 1),
    concurrency: intVar(`${p}_CONCURRENCY`, d.concurrency, 1)
  })
}

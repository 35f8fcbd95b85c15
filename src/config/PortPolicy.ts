// The resilience settings of one pipeline port (timeouts, retries, concurrency), read from STREAM_<PORT>_*.
import { Effect } from "effect"
import { type InvalidConfig, intVar } from "./readVar.ts"

export type PortName = "stt" | "llm" | "tts" | "enrichment"

export interface PortPolicy {
  /**
   * Longest wait for the first useful output of a call: the first token (llm), the first audio byte (tts), the
   * answer (enrichment); for stt, the final transcript after the end of speech.
   */
  readonly firstChunkTimeoutMs: number
  /** Longest wait between two chunks once a call is streaming. */
  readonly idleTimeoutMs: number
  /** Retries after the first attempt, for retryable errors that happen before any output. */
  readonly retries: number
  /** Delay before the first retry (for stt: restart); doubles each time, ±20 % jitter, capped at retryMaxDelayMs. */
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

/**
 * The settings that mean something for each port. An STT stream lives as long as its session: it has no idle
 * timeout, and it restarts after every failure (with backoff) rather than giving up after a number of retries.
 * Enrichment answers once, so it has no idle timeout either.
 */
const Configurable: Readonly<Record<PortName, ReadonlyArray<keyof PortPolicy>>> = {
  stt: ["firstChunkTimeoutMs", "retryBaseDelayMs", "retryMaxDelayMs", "concurrency"],
  llm: ["firstChunkTimeoutMs", "idleTimeoutMs", "retries", "retryBaseDelayMs", "retryMaxDelayMs", "concurrency"],
  tts: ["firstChunkTimeoutMs", "idleTimeoutMs", "retries", "retryBaseDelayMs", "retryMaxDelayMs", "concurrency"],
  enrichment: ["firstChunkTimeoutMs", "retries", "retryBaseDelayMs", "retryMaxDelayMs", "concurrency"]
}

const Variables: Readonly<Record<keyof PortPolicy, { suffix: string; min: number; max?: number }>> = {
  firstChunkTimeoutMs: { suffix: "TIMEOUT_MS", min: 1 },
  idleTimeoutMs: { suffix: "IDLE_TIMEOUT_MS", min: 1 },
  retries: { suffix: "RETRIES", min: 0, max: 10 },
  retryBaseDelayMs: { suffix: "RETRY_BASE_MS", min: 1 },
  retryMaxDelayMs: { suffix: "RETRY_MAX_MS", min: 1 },
  concurrency: { suffix: "CONCURRENCY", min: 1 }
}

/** Reads STREAM_<PORT>_<SETTING> for the settings that apply to `port`; the others keep their defaults. */
export const readPortPolicy = (port: PortName): Effect.Effect<PortPolicy, InvalidConfig> => {
  const defaults = PortPolicyDefaults[port]
  const read = (field: keyof PortPolicy) => {
    if (!Configurable[port].includes(field)) return Effect.succeed(defaults[field])
    const { suffix, min, max } = Variables[field]
    return intVar(`STREAM_${port.toUpperCase()}_${suffix}`, defaults[field], min, max)
  }
  return Effect.all({
    firstChunkTimeoutMs: read("firstChunkTimeoutMs"),
    idleTimeoutMs: read("idleTimeoutMs"),
    retries: read("retries"),
    retryBaseDelayMs: read("retryBaseDelayMs"),
    retryMaxDelayMs: read("retryMaxDelayMs"),
    concurrency: read("concurrency")
  })
}

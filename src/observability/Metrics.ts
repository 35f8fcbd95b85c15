// Every metric the server keeps, as GET /metrics shows it (Prometheus text) and OTLP exports it: name, help and
// buckets. Labels are added where a metric is updated (Metric.withAttributes); docs/operations.md lists them all.
import { Metric } from "effect"

/** Latency buckets for a voice pipeline, in seconds: 25 ms to 10 s. */
export const LatencyBoundariesSeconds: ReadonlyArray<number> = [
  0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 7.5, 10
]

const counter = (name: string, description: string) => Metric.counter(name, { description, incremental: true })
const gauge = (name: string, description: string) => Metric.gauge(name, { description })

// ---- connections, sessions, turns ----

export const websocketConnections = gauge("voice_stream_websocket_connections", "Open WebSocket sessions")
export const sessionsStarted = counter("voice_stream_sessions_started_total", "Sessions started (upgraded sockets)")
export const sessionsEnded = counter("voice_stream_sessions_ended_total", "Sessions ended, by reason")
export const turns = counter(
  "voice_stream_turns_total",
  "Turns answered, by outcome (done, failed, cancelled) and input"
)
export const stageLatency = Metric.histogram("voice_stream_stage_latency_seconds", {
  description:
    "Latency per stage: stt (end of speech to final transcript), enrichment, llm_first_token, tts_first_byte, " +
    "first_audio (end of speech to first reply audio), total (turn start to its end)",
  boundaries: LatencyBoundariesSeconds
})
export const errors = counter("voice_stream_errors_total", "Error events sent to clients, by stage and code")
export const upgradeRefusals = counter("voice_stream_upgrade_refusals_total", "Refused /v1/stream upgrades, by reason")
export const outboundAudioBytes = counter("voice_stream_outbound_audio_bytes_total", "Reply audio written to sockets")

// ---- protection (issue 7): rate limits, shared store ----

export const rateLimited = counter(
  "voice_stream_rate_limited_total",
  "Requests refused by a rate limiter, by limit (connect_user, connect_ip, turn, message, audio)"
)
export const protectionStoreFailures = counter(
  "voice_stream_protection_store_failures_total",
  "Redis failures or timeouts met by the limiters and leases, by operation; each one failed open (local limiter)"
)

// ---- providers (quota tracking) ----

export const providerRequests = counter("voice_stream_provider_requests_total", "Provider calls made, retries included")
export const providerErrors = counter(
  "voice_stream_provider_errors_total",
  "Provider calls that failed after their retries, by reason"
)
export const providerAudioSeconds = counter(
  "voice_stream_provider_audio_seconds_total",
  "Audio sent to speech recognition"
)
export const providerInputTokens = counter("voice_stream_provider_input_tokens_total", "LLM prompt tokens reported")
export const providerOutputTokens = counter("voice_stream_provider_output_tokens_total", "LLM reply tokens reported")
export const providerCharacters = counter(
  "voice_stream_provider_characters_total",
  "Characters sent to speech synthesis"
)

// ---- session store ----

export const storePendingRecords = gauge(
  "voice_stream_store_pending_records",
  "Records waiting in memory for the database"
)
export const storeSpilledRecords = gauge("voice_stream_store_spilled_records", "Records waiting in the spill file")
export const storeDegraded = gauge("voice_stream_store_degraded", "1 while database writes fail and records wait")
export const storeRejectedRecords = gauge(
  "voice_stream_store_rejected_records",
  "Records the database refused as bad data since start, set aside in the rejected file"
)

// ---- process ----

export const residentMemoryBytes = gauge("voice_stream_process_resident_memory_bytes", "Resident set size")
export const heapUsedBytes = gauge("voice_stream_process_heap_used_bytes", "V8 heap in use")
export const heapTotalBytes = gauge("voice_stream_process_heap_total_bytes", "V8 heap reserved")
export const memoryLimitBytes = gauge(
  "voice_stream_process_memory_limit_bytes",
  "Memory the process may use (STREAM_MEMORY_LIMIT_MB, else the container limit, else the machine's memory)"
)
export const cpuSeconds = counter("voice_stream_process_cpu_seconds_total", "CPU time used, user and system")
export const eventLoopDelaySeconds = gauge(
  "voice_stream_event_loop_delay_seconds",
  "Event-loop delay over the last sampling window, by stat (mean, p50, p99, max)"
)

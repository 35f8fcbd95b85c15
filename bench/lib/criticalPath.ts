// The mock providers' delays the benchmark gives the server (a realistic critical path), and the time from the end
// of speech to the first reply audio that they add up to: what first-audio latency would be with a zero-cost server.

export const MockDelays = {
  sttFinalMs: 250,
  llmFirstTokenMs: 300,
  llmTokensPerSec: 30,
  ttsFirstByteMs: 150,
  endpointSilenceMs: 500,
  speechThreshold: 500
} as const

/** Tokens in the first sentence of the mock's reply to the default question (docs/configuration.md). */
export const FirstSentenceTokens = 11

/** End of speech → first audio byte with a server that costs nothing: STT final + first token + the rest of the
 *  first sentence's tokens + TTS first byte. Enrichment is set to 0 ms so it is off the path. */
export const CriticalPathMs =
  MockDelays.sttFinalMs +
  MockDelays.llmFirstTokenMs +
  ((FirstSentenceTokens - 1) * 1000) / MockDelays.llmTokensPerSec +
  MockDelays.ttsFirstByteMs

/** The environment that gives the server under test this critical path. */
export const serverEnv = (maxSessions: number): Record<string, string> => ({
  STREAM_MOCK_STT_FINAL_DELAY_MS: String(MockDelays.sttFinalMs),
  STREAM_MOCK_STT_ENDPOINT_SILENCE_MS: String(MockDelays.endpointSilenceMs),
  STREAM_MOCK_STT_SPEECH_THRESHOLD: String(MockDelays.speechThreshold),
  STREAM_MOCK_LLM_FIRST_TOKEN_MS: String(MockDelays.llmFirstTokenMs),
  STREAM_MOCK_LLM_TOKENS_PER_SEC: String(MockDelays.llmTokensPerSec),
  STREAM_MOCK_TTS_FIRST_BYTE_MS: String(MockDelays.ttsFirstByteMs),
  STREAM_MOCK_ENRICHMENT_DELAY_MS: "0",
  STREAM_MAX_CONCURRENT_SESSIONS: String(maxSessions),
  STREAM_MAX_SESSIONS_PER_USER: String(maxSessions),
  STREAM_STT_CONCURRENCY: String(maxSessions),
  STREAM_LLM_CONCURRENCY: String(maxSessions),
  STREAM_TTS_CONCURRENCY: String(maxSessions),
  STREAM_ENRICHMENT_CONCURRENCY: String(maxSessions),
  // Abuse protection limits (issue 7) count per IP and user; every bench client comes from 127.0.0.1.
  STREAM_RATE_LIMIT_CONNECT_IP_MAX: "1000000",
  STREAM_RATE_LIMIT_CONNECT_USER_MAX: "1000000",
  STREAM_RATE_LIMIT_TURNS_MAX: "1000000",
  STREAM_RATE_LIMIT_MESSAGES_MAX: "1000000",
  STREAM_LOG_LEVEL: "warn"
})

/**
 * BENCH_DATABASE_URL=<postgres url>: the server under test writes to that PostgreSQL instead of its embedded PGlite
 * (PostgreSQL's memory is then outside the measured process). The URL itself is never printed.
 */
export const databaseEnv = (): Record<string, string> =>
  process.env.BENCH_DATABASE_URL ? { DATABASE_URL: process.env.BENCH_DATABASE_URL } : {}

/** Which database the server under test uses, for the report. */
export const databaseName = () =>
  process.env.BENCH_DATABASE_URL ? "PostgreSQL (BENCH_DATABASE_URL)" : "embedded PGlite"

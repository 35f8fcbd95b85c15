// Settings of abuse protection and scale-out (issue 7): rate limits, Redis, per-user leases, idle and buffer bounds.
import { Effect, Redacted } from "effect"
import { InvalidConfig, intVar, stringVar } from "./readVar.ts"

/** At most `max` events per `windowMs`, counted per key. */
export interface RateLimit {
  readonly max: number
  readonly windowMs: number
}

export interface ProtectionSettings {
  /** Connection attempts (upgrades) per user and per client IP. */
  readonly connectPerUser: RateLimit
  readonly connectPerIp: RateLimit
  /** Turns started per user, across all of the user's sessions (and instances, with Redis). */
  readonly turnsPerUser: RateLimit
  /** Text (control) messages per connection. */
  readonly messagesPerConnection: RateLimit
  /** Audio a connection may send ahead of real time, in ms of audio; beyond it frames are refused. */
  readonly audioAheadMs: number
  /** CIDR ranges of proxies whose X-Forwarded-For is believed; empty = the socket address is the client. */
  readonly trustedProxies: ReadonlyArray<string>
  /** Redis for shared limits and per-user leases; undefined = in-memory, per instance. */
  /** May carry a password: Redacted, never logged. */
  readonly redisUrl: Redacted.Redacted<string> | undefined
  readonly redisPrefix: string
  /** A Redis command slower than this counts as a Redis failure (fail open). */
  readonly redisTimeoutMs: number
  /** Lifetime of a per-user session lease without heartbeat; heartbeats run every third of it. */
  readonly leaseTtlMs: number
  /** A session with no audio and no message for this long is closed (0 = never). */
  readonly idleTimeoutMs: number
  /** Bytes queued in the socket and not yet taken by the network; past it the session ends (slow_consumer). */
  readonly maxOutboundBufferBytes: number
  /** WebSocket ping every this many ms; a peer that missed the previous pong is cut (0 = off). */
  readonly pingIntervalMs: number
}

const cidrList = (variable: string) =>
  stringVar(variable, "").pipe(
    Effect.flatMap((raw): Effect.Effect<ReadonlyArray<string>, InvalidConfig> => {
      const list = raw
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s.length > 0)
      const bad = list.find((cidr) => !/^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(cidr))
      return bad === undefined
        ? Effect.succeed(list)
        : Effect.fail(
            new InvalidConfig({
              variable,
              message: `${variable} must be a comma-separated list of addresses or CIDR ranges (10.0.0.0/8, ::1/128); got ${JSON.stringify(bad)}`
            })
          )
    })
  )

const limit = (prefix: string, max: number, windowMs: number) =>
  Effect.all({
    max: intVar(`${prefix}_MAX`, max, 1),
    windowMs: intVar(`${prefix}_WINDOW_MS`, windowMs, 1)
  })

export const readProtectionSettings: Effect.Effect<ProtectionSettings, InvalidConfig> = Effect.gen(function* () {
  const base = yield* limit("STREAM_RATE_LIMIT", 20, 60000)
  const redisUrl = (yield* stringVar("REDIS_URL", "")).trim()
  return {
    connectPerUser: yield* limit("STREAM_RATE_LIMIT_CONNECT_USER", base.max, base.windowMs),
    connectPerIp: yield* limit("STREAM_RATE_LIMIT_CONNECT_IP", base.max * 3, base.windowMs),
    turnsPerUser: yield* limit("STREAM_RATE_LIMIT_TURNS", 30, 60000),
    messagesPerConnection: yield* limit("STREAM_RATE_LIMIT_MESSAGES", 50, 1000),
    audioAheadMs: yield* intVar("STREAM_AUDIO_MAX_AHEAD_MS", 30000, 1000),
    trustedProxies: yield* cidrList("STREAM_TRUSTED_PROXIES"),
    redisUrl: redisUrl.length > 0 ? Redacted.make(redisUrl) : undefined,
    redisPrefix: yield* stringVar("STREAM_REDIS_PREFIX", "voice-stream:"),
    redisTimeoutMs: yield* intVar("STREAM_REDIS_TIMEOUT_MS", 500, 10, 60000),
    leaseTtlMs: yield* intVar("STREAM_SESSION_LEASE_TTL_MS", 30000, 300),
    idleTimeoutMs: yield* intVar("STREAM_IDLE_TIMEOUT_MS", 300000, 0),
    maxOutboundBufferBytes: yield* intVar("STREAM_MAX_OUTBOUND_BUFFER_BYTES", 1048576, 1024),
    pingIntervalMs: yield* intVar("STREAM_PING_INTERVAL_MS", 30000, 0)
  }
})

// Mints a development/test access token for the voice-stream server:
//   npm run token -- --sub <user> [--ttl 1h]
// Prints one HS256 JWT on stdout (and nothing else there), signed with JWT_SECRET from the environment,
// else from ./.env, else the built-in development secret (with a warning on stderr).
import { existsSync, readFileSync } from "node:fs"
import { parseArgs } from "node:util"
import { SignJWT } from "jose"
import { DevelopmentJwtSecret } from "../src/config/AppConfig.ts"

const USAGE = `usage: npm run token -- --sub <user> [--ttl <duration>]
  --sub  the user id to put in the token's "sub" claim (required)
  --ttl  lifetime: a whole number followed by s, m, h or d, e.g. 30s, 15m, 1h, 2d (default 1h)`

const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86400 }

/** Seconds in a duration like "30s", "15m", "1h" or "2d"; null when the text is not one. */
const parseTtl = (text: string): number | null => {
  const match = /^(\d+)([smhd])$/.exec(text.trim())
  if (match === null) return null
  const seconds = Number(match[1]) * UNIT_SECONDS[match[2]!]!
  return seconds > 0 && Number.isSafeInteger(seconds) ? seconds : null
}

/** KEY=VALUE lines of a .env file; blank lines and # comments are skipped, surrounding quotes removed. */
const parseDotEnv = (text: string): Map<string, string> => {
  const vars = new Map<string, string>()
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim().replace(/^export\s+/, "")
    if (line === "" || line.startsWith("#")) continue
    const eq = line.indexOf("=")
    if (eq <= 0) continue
    let value = line.slice(eq + 1).trim()
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.endsWith(value[0])) {
      value = value.slice(1, -1)
    }
    vars.set(line.slice(0, eq).trim(), value)
  }
  return vars
}

/** JWT_SECRET from the environment, else ./.env, else null. Empty values count as unset. */
const configuredSecret = (): string | null => {
  const fromEnv = process.env.JWT_SECRET
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv
  if (!existsSync(".env")) return null
  const fromFile = parseDotEnv(readFileSync(".env", "utf8")).get("JWT_SECRET")
  return fromFile !== undefined && fromFile !== "" ? fromFile : null
}

const fail = (message: string): never => {
  console.error(message)
  process.exit(2)
}

const readArgs = (): { sub: string; ttlSeconds: number } => {
  let values: { sub?: string | undefined; ttl?: string | undefined; help?: boolean | undefined }
  try {
    values = parseArgs({
      options: { sub: { type: "string" }, ttl: { type: "string" }, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: false
    }).values
  } catch (error) {
    return fail(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`)
  }
  if (values.help === true) {
    console.error(USAGE)
    process.exit(0)
  }
  const sub = values.sub?.trim() ?? ""
  if (sub === "") return fail(`missing --sub\n${USAGE}`)
  const ttlText = values.ttl ?? "1h"
  const ttlSeconds = parseTtl(ttlText)
  if (ttlSeconds === null) return fail(`invalid --ttl ${JSON.stringify(ttlText)}: use e.g. 30s, 15m, 1h or 2d`)
  return { sub, ttlSeconds }
}

const main = async (): Promise<void> => {
  const { sub, ttlSeconds } = readArgs()
  let secret = configuredSecret()
  if (secret === null) {
    console.error("warning: JWT_SECRET is not set; signing with the built-in DEVELOPMENT secret")
    secret = DevelopmentJwtSecret
  }
  const issuedAt = Math.floor(Date.now() / 1000)
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(sub)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + ttlSeconds)
    .sign(new TextEncoder().encode(secret))
  process.stdout.write(`${token}\n`)
}

await main()

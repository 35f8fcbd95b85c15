// The User-Agent every upstream request carries: the project's name and version (from package.json), so the public
// APIs we use can see who is calling. Read once at startup.
import { readFileSync } from "node:fs"
import { Effect, Result, Schema } from "effect"

const PackageJson = Schema.fromJsonString(Schema.Struct({ name: Schema.String, version: Schema.String }))

const packageFile = new URL("../../package.json", import.meta.url)

/** "voice-stream/0.1.0 (self-hosted voice assistant server)"; without the version if package.json cannot be read. */
export const readUserAgent: Effect.Effect<string> = Effect.sync(() => {
  let text = ""
  try {
    text = readFileSync(packageFile, "utf8")
  } catch {
    // fall through to the name alone
  }
  const decoded = Schema.decodeUnknownResult(PackageJson)(text)
  const product = Result.isSuccess(decoded) ? `${decoded.success.name}/${decoded.success.version}` : "voice-stream"
  return `${product} (self-hosted voice assistant server)`
})

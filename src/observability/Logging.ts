// Logging: JSON lines in production, readable lines otherwise; debug level (per-frame detail) with STREAM_DEBUG.
import { Effect, Layer, Logger, References } from "effect"
import { AppConfig } from "../config/AppConfig.ts"

export const LoggingLive = Layer.unwrap(
  Effect.map(Effect.service(AppConfig), (config) =>
    Layer.mergeAll(
      Logger.layer([config.nodeEnv === "production" ? Logger.consoleJson : Logger.consolePretty()]),
      Layer.succeed(References.MinimumLogLevel, config.debug ? "Debug" : "Info")
    )
  )
)

// Logging: JSON lines in production, readable lines otherwise; STREAM_LOG_LEVEL sets the level, and STREAM_DEBUG
// lowers it to debug, which adds per-frame detail.
import { Effect, Layer, Logger, References } from "effect"
import { AppConfig } from "../config/AppConfig.ts"

export const LoggingLive = Layer.unwrap(
  Effect.map(Effect.service(AppConfig), (config) =>
    Layer.mergeAll(
      Logger.layer([config.nodeEnv === "production" ? Logger.consoleJson : Logger.consolePretty()]),
      Layer.succeed(References.MinimumLogLevel, config.debug ? "Debug" : config.logLevel)
    )
  )
)

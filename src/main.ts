// Entry point: reads configuration (environment, then .env), starts the server, runs until a signal.
import { NodeRuntime } from "@effect/platform-node"
import { Cause, Effect, Exit, Layer, Runtime } from "effect"
import { isSqlError } from "effect/sql/SqlError"
import { AppLive } from "./App.ts"
import { ConfigFromEnvAndDotEnv } from "./config/ConfigSource.ts"
import { InvalidConfig } from "./config/readVar.ts"
import { MigrationError } from "./persistence/Migrations.ts"

/** A stop by SIGTERM/SIGINT that drained cleanly is a normal exit (0), not an interruption (130). */
const teardown: Runtime.Teardown = (exit, onExit) =>
  Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause) ? onExit(0) : Runtime.defaultTeardown(exit, onExit)

/** The Node error code behind a failure to listen (EADDRINUSE, EACCES…), if that is what stopped the server. */
const listenErrorCode = (error: unknown): string | undefined => {
  const cause = (error as { readonly cause?: { readonly code?: unknown } } | undefined)?.cause
  return typeof cause?.code === "string" ? cause.code : undefined
}

/** A bad setting or a port that cannot be used is one clear line; anything else comes with its full cause. */
const reportStartupFailure = (cause: Cause.Cause<unknown>) => {
  const error = Cause.squash(cause)
  if (error instanceof InvalidConfig) return Effect.logError(`Configuration error: ${error.message}`)
  if (error instanceof MigrationError) return Effect.logError(`Database migration error: ${error.message}`)
  if (isSqlError(error)) {
    const reason = (error as { readonly reason?: { readonly message?: string } }).reason
    return Effect.logError(`Database error at startup: ${reason?.message ?? error.message}`)
  }
  const code = listenErrorCode(error)
  if (code === "EADDRINUSE" || code === "EACCES") {
    return Effect.logError(
      `Cannot listen (${code}): ${code === "EADDRINUSE" ? "the port is already in use" : "permission denied"}; ` +
        "choose another STREAM_WS_PORT or STREAM_HOST"
    )
  }
  return Effect.logError("The server stopped on an error", cause)
}

const program = Layer.launch(AppLive.pipe(Layer.provide(ConfigFromEnvAndDotEnv))).pipe(
  Effect.tapCause((cause) => (Cause.hasInterruptsOnly(cause) ? Effect.void : reportStartupFailure(cause)))
)

NodeRuntime.runMain(program, { teardown, disableErrorReporting: true })

// The first SIGTERM/SIGINT drains (runMain interrupts the program); a second one exits at once, skipping what is left
// of the drain and the store flush, with the conventional status 128 + signal number: 143 (SIGTERM), 130 (SIGINT).
let signalsReceived = 0
const exitOnSecondSignal = (signal: NodeJS.Signals) => {
  if (++signalsReceived < 2) return
  console.error(`${signal} received again while draining: exiting now`)
  process.exit(signal === "SIGINT" ? 130 : 143)
}
process.on("SIGTERM", exitOnSecondSignal)
process.on("SIGINT", exitOnSecondSignal)

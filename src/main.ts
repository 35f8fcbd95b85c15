// Entry point: reads configuration (environment, then .env), starts the server, runs until a signal.
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { ConfigProvider, Effect, Layer } from "effect"
import { AppLive } from "./App.ts"

/** Environment variables first; a .env file in the working directory fills in what they leave unset. */
const ConfigFromEnvAndDotEnv = ConfigProvider.layer(
  Effect.gen(function* () {
    const env = ConfigProvider.fromEnv()
    const dotEnv = yield* ConfigProvider.fromDotEnv().pipe(Effect.orElseSucceed(() => undefined))
    return dotEnv === undefined ? env : ConfigProvider.orElse(env, dotEnv)
  })
).pipe(Layer.provide(NodeServices.layer))

NodeRuntime.runMain(Layer.launch(AppLive.pipe(Layer.provide(ConfigFromEnvAndDotEnv))), {
  disableErrorReporting: false
})

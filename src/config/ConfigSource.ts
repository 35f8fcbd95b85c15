// Where settings come from in a process (the server, npm run migrate): environment variables first, then a .env file
// in the working directory for what they leave unset.
import { NodeServices } from "@effect/platform-node"
import { ConfigProvider, Effect, Layer } from "effect"

export const ConfigFromEnvAndDotEnv = ConfigProvider.layer(
  Effect.gen(function* () {
    const env = ConfigProvider.fromEnv()
    const dotEnv = yield* ConfigProvider.fromDotEnv().pipe(Effect.orElseSucceed(() => undefined))
    return dotEnv === undefined ? env : ConfigProvider.orElse(env, dotEnv)
  })
).pipe(Layer.provide(NodeServices.layer))

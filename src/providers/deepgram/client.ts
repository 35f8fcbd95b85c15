// Builds the Deepgram SDK client for one call: the API key from settings (never the environment), the configured
// base URL, and the SDK's own REST retries off so the server's resilience policy alone decides.
import { DeepgramClient } from "@deepgram/sdk"
import { Effect, Option, Redacted } from "effect"
import type { DeepgramSettings } from "../../config/ProviderSettings.ts"
import type { PortFailure } from "../../pipeline/PortError.ts"
import type { DeepgramService } from "./errors.ts"

export const makeDeepgramClient = (
  settings: DeepgramSettings,
  service: DeepgramService,
  timeoutMs: number
): Effect.Effect<DeepgramClient, PortFailure> =>
  Option.match(settings.apiKey, {
    onNone: () =>
      Effect.fail<PortFailure>({
        reason: "unauthorized",
        retryable: false,
        message: `Deepgram ${service} has no API key (DEEPGRAM_API_KEY)`
      }),
    onSome: (key) =>
      Effect.sync(
        () =>
          new DeepgramClient({
            apiKey: Redacted.value(key),
            ...Option.match(settings.baseUrl, { onNone: () => ({}), onSome: (baseUrl) => ({ baseUrl }) }),
            maxRetries: 0,
            timeoutInSeconds: timeoutMs / 1000
          })
      )
  })

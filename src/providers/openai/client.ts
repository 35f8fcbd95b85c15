// Builds the OpenAI SDK client every OpenAI adapter uses: base URL (any OpenAI-compatible server), the key, the SDK's
// own retries OFF (the server's resilience policy decides), an explicit timeout, and the SDK's logging off (it could
// print response content).
import { Option, Redacted } from "effect"
import OpenAI from "openai"
import type { OpenAiSettings } from "../../config/ProviderSettings.ts"

/**
 * Without a key (an OpenAI-compatible server that needs none) a placeholder is sent: the SDK refuses to start
 * without one, and the real API answers it with 401.
 */
export const makeOpenAiClient = (settings: OpenAiSettings, timeoutMs: number): OpenAI =>
  new OpenAI({
    apiKey: Option.match(settings.apiKey, { onNone: () => "no-key", onSome: Redacted.value }),
    ...Option.match(settings.baseUrl, { onNone: () => ({}), onSome: (baseURL) => ({ baseURL }) }),
    maxRetries: 0,
    timeout: timeoutMs,
    logLevel: "off"
  })

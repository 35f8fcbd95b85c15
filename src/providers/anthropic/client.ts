// Builds the Anthropic SDK client: base URL without /v1 (the SDK adds it), the key passed explicitly (so the SDK never
// looks for credentials elsewhere), its own retries OFF (the server's resilience policy decides), an explicit
// timeout, and its logging off (it could print response content).
import Anthropic from "@anthropic-ai/sdk"
import { Option, Redacted } from "effect"
import type { AnthropicSettings } from "../../config/ProviderSettings.ts"

/** Without a key a placeholder is sent (the SDK needs one); the real API answers it with 401. */
export const makeAnthropicClient = (settings: AnthropicSettings, timeoutMs: number): Anthropic =>
  new Anthropic({
    apiKey: Option.match(settings.apiKey, { onNone: () => "no-key", onSome: Redacted.value }),
    ...Option.match(settings.baseUrl, { onNone: () => ({}), onSome: (baseURL) => ({ baseURL }) }),
    maxRetries: 0,
    timeout: timeoutMs,
    logLevel: "off"
  })

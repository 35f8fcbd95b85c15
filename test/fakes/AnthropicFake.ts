// A local fake of the Anthropic Messages API for tests and `npm run fakes`: a real HTTP server on 127.0.0.1 speaking
// the wire protocol the @anthropic-ai/sdk expects (PROVIDERS.md), scriptable per request, recording every request.
//
//   const fake = await startAnthropicFake({ replyText: "Hello there." })
//   new Anthropic({ baseURL: fake.url, apiKey: "test-key", maxRetries: 0 })   // fake.url has NO /v1 (the SDK adds it)
//   fake.script({ kind: "status", status: 529 }, { kind: "reply", delayMs: 50 })
//   fake.requests[0].headers["anthropic-version"], .json.messages, .clientClosed
//   await fake.close()
//
// POST /v1/messages needs `Authorization: Bearer <key>` or `x-api-key` (with `apiKey` set, only that key; else 401
// authentication_error) and an `anthropic-version` header (else 400). Like the real API it refuses (400
// invalid_request_error) a body without model / max_tokens, or whose messages are empty, do not start with "user" or
// do not alternate. stream:true → SSE where every event has an `event:` line: message_start (usage.input_tokens),
// content_block_start, ping, one content_block_delta text_delta per word, content_block_stop, message_delta
// (stop_reason end_turn, usage.output_tokens), message_stop. stream:false → one message JSON.
// Steps (FakeStep in sse.ts), used in order, then normal replies: reply (text, pace), status (429 + retry-after, 500,
// 529 overloaded, 401 …; body in Anthropic's error shape), hang (before-headers | before-first-chunk), drop (destroy
// the socket after N deltas), end-early (end without message_stop), malformed (non-JSON data after N deltas),
// error-event (`event: error` of errorType, default overloaded_error, after N deltas).
import type { IncomingMessage, ServerResponse } from "node:http"
import {
  type FakeStep,
  listenLoopback,
  type Pace,
  playStep,
  type RecordedRequest,
  readBody,
  StepQueue,
  sendJson,
  sseFrame,
  startSse,
  stepText,
  trackRequest
} from "./sse.ts"

export interface AnthropicFakeOptions {
  /** Listen port; 0 (default) picks a free one. */
  readonly port?: number
  /** When set, only this key is accepted. */
  readonly apiKey?: string
  /** The reply, streamed word by word. */
  readonly replyText?: string
  /** Delay before the first delta and between deltas (a step's own pace wins). */
  readonly firstDelayMs?: number
  readonly delayMs?: number
}

export interface AnthropicFake {
  /** Base URL for the SDK, without /v1. */
  readonly url: string
  readonly port: number
  /** Queues steps for the next requests. */
  readonly script: (...steps: ReadonlyArray<FakeStep>) => void
  /** Every request received, in order. */
  readonly requests: ReadonlyArray<RecordedRequest>
  /** Forgets scripted steps and recorded requests. */
  readonly reset: () => void
  readonly close: () => Promise<void>
}

export const DefaultAnthropicReply = "Bitcoin trades near 97,250 dollars, up about 2.3 percent in a day."

const words = (text: string): Array<string> => text.match(/\S+\s*/g) ?? []

const ErrorTypes: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  529: "overloaded_error"
}

export const anthropicErrorBody = (status: number, message = "Error from the fake.", type?: string) => ({
  type: "error",
  error: { type: type ?? ErrorTypes[status] ?? (status >= 500 ? "api_error" : "invalid_request_error"), message },
  request_id: "req_fake"
})

/** What the real API refuses in a request body, or undefined when it is acceptable. */
const invalidBody = (json: Record<string, unknown> | undefined): string | undefined => {
  if (json === undefined) return "body: not JSON"
  if (typeof json.model !== "string") return "model: Field required"
  if (typeof json.max_tokens !== "number") return "max_tokens: Field required"
  const messages = json.messages
  if (!Array.isArray(messages) || messages.length === 0) return "messages: at least one message is required"
  let expected = "user"
  for (const message of messages as Array<{ role?: unknown }>) {
    if (message.role !== expected)
      return "messages: roles must alternate between user and assistant, starting with user"
    expected = expected === "user" ? "assistant" : "user"
  }
  return undefined
}

export const startAnthropicFake = async (options: AnthropicFakeOptions = {}): Promise<AnthropicFake> => {
  const steps = new StepQueue<"messages">()
  const requests: Array<RecordedRequest> = []
  const pace: Pace = { firstDelayMs: options.firstDelayMs ?? 0, delayMs: options.delayMs ?? 0 }
  let counter = 0

  const messages = (
    res: ServerResponse,
    step: Exclude<FakeStep, { kind: "status" }>,
    json: Record<string, unknown>,
    markFakeClose: () => void
  ) => {
    const id = `msg_fake_${++counter}`
    const text = stepText(step) ?? options.replyText ?? DefaultAnthropicReply
    const deltas = words(text)
    const inputTokens = Math.ceil((JSON.stringify(json.messages).length + String(json.system ?? "").length) / 4)
    const message = {
      id,
      type: "message",
      role: "assistant",
      model: json.model,
      content: [] as Array<unknown>,
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: inputTokens, output_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 }
    }
    if (json.stream !== true) {
      return sendJson(res, 200, {
        ...message,
        content: [{ type: "text", text }],
        stop_reason: "end_turn",
        usage: { ...message.usage, output_tokens: deltas.length }
      })
    }
    const event = (name: string, data: Record<string, unknown>) => sseFrame({ type: name, ...data }, name)
    return playStep(
      res,
      step,
      {
        begin: () => startSse(res, { "request-id": `req_fake_${counter}` }),
        preamble: [
          event("message_start", { message }),
          event("content_block_start", { index: 0, content_block: { type: "text", text: "" } }),
          event("ping", {})
        ],
        chunks: deltas.map((w) => event("content_block_delta", { index: 0, delta: { type: "text_delta", text: w } })),
        finish: [
          event("content_block_stop", { index: 0 }),
          event("message_delta", {
            delta: { stop_reason: "end_turn", stop_sequence: null },
            usage: { output_tokens: deltas.length }
          }),
          event("message_stop", {})
        ],
        malformed: "event: content_block_delta\ndata: {this is not json\n\n",
        errorEvent: (type) => sseFrame(anthropicErrorBody(529, "Overloaded", type ?? "overloaded_error"), "error")
      },
      pace,
      markFakeClose
    )
  }

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req)
    const tracked = trackRequest(req, res, body)
    const path = (req.url ?? "/").split("?")[0]
    const key = req.headers["x-api-key"] ?? /^Bearer (\S+)$/.exec(req.headers.authorization ?? "")?.[1]
    const keyOk = options.apiKey === undefined ? typeof key === "string" && key.length > 0 : key === options.apiKey
    const json =
      typeof body.json === "object" && body.json !== null ? (body.json as Record<string, unknown>) : undefined
    const refusal: FakeStep | undefined = !keyOk
      ? { kind: "status", status: 401, body: anthropicErrorBody(401, "invalid x-api-key") }
      : path !== "/v1/messages" || req.method !== "POST"
        ? { kind: "status", status: 404, body: anthropicErrorBody(404, "Not found") }
        : req.headers["anthropic-version"] === undefined
          ? { kind: "status", status: 400, body: anthropicErrorBody(400, "anthropic-version: header is required") }
          : invalidBody(json) !== undefined
            ? { kind: "status", status: 400, body: anthropicErrorBody(400, invalidBody(json)) }
            : undefined
    const step = refusal ?? steps.next("messages")
    requests.push(tracked.record(step.kind))
    if (step.kind === "status") {
      return sendJson(res, step.status, step.body ?? anthropicErrorBody(step.status), step.headers)
    }
    return messages(res, step, json ?? {}, tracked.markFakeClose)
  }

  const server = await listenLoopback(handle, options.port ?? 0)
  return {
    url: `http://127.0.0.1:${server.port}`,
    port: server.port,
    script: (...more) => steps.push("messages", more),
    requests,
    reset: () => {
      steps.clear()
      requests.length = 0
    },
    close: server.close
  }
}

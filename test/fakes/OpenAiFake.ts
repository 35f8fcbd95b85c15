// A local fake of the OpenAI API for tests and `npm run fakes`: a real HTTP server on 127.0.0.1 speaking the wire
// protocol the openai SDK expects (PROVIDERS.md), scriptable per request, recording every request.
//
//   const fake = await startOpenAiFake({ replyText: "Hello there.", transcript: "What is bitcoin at?" })
//   new OpenAI({ baseURL: fake.url, apiKey: "test-key", maxRetries: 0 })      // fake.url ends with /v1
//   fake.script("chat", { kind: "status", status: 429, headers: { "retry-after": "2" } }, { kind: "reply" })
//   fake.requests[0].headers.authorization, .json (chat, speech), .fields / .files (transcriptions), .clientClosed
//   await fake.close()
//
// Endpoints (all need `Authorization: Bearer <key>`; with `apiKey` set, any other key gets 401 invalid_api_key):
//   POST /v1/chat/completions     stream:true → SSE `data:` chunks: a role chunk, one chunk per word of the reply,
//                                 finish_reason "stop", a usage chunk (choices: []) when stream_options.include_usage
//                                 (unless the fake was started with usage: false, like some compatible servers),
//                                 then `data: [DONE]`. stream:false → one chat.completion JSON.
//   POST /v1/audio/speech         response_format "pcm" → a 24 kHz PCM16 mono tone, `speechMsPerChar` ms per input
//                                 character, streamed in `speechChunkBytes` chunks (odd by default, so clients must
//                                 handle samples split across chunks). Other formats → 400.
//   POST /v1/audio/transcriptions multipart (file, model, response_format, stream); stream "true" → SSE
//                                 `transcript.text.delta` per word then `transcript.text.done`; else JSON {text, usage}.
// Steps (FakeStep in sse.ts) are queued per endpoint ("chat" | "speech" | "transcription") and used in order, then
// normal replies: reply (text, pace), status (429 + retry-after, 500, 401 …; body in OpenAI's error shape), hang
// (before-headers | before-first-chunk), drop (destroy the socket after N chunks), end-early (end without the final
// frames), malformed (non-JSON data after N chunks), error-event (`data: {"error": …}` after N chunks).
import type { IncomingMessage, ServerResponse } from "node:http"
import {
  type FakeStep,
  listenLoopback,
  type Pace,
  playStep,
  type RecordedRequest,
  readBody,
  StepQueue,
  type StreamScript,
  sendJson,
  sseFrame,
  startSse,
  stepText,
  trackRequest
} from "./sse.ts"

export type OpenAiEndpoint = "chat" | "speech" | "transcription"

export interface OpenAiFakeOptions {
  /** Listen port; 0 (default) picks a free one. */
  readonly port?: number
  /** When set, only this key is accepted. */
  readonly apiKey?: string
  /** The chat reply, streamed word by word. */
  readonly replyText?: string
  /** What every transcription returns. */
  readonly transcript?: string
  /** false: never send the usage chunk, as some OpenAI-compatible servers do (default true). */
  readonly usage?: boolean
  /** Delay before the first chunk and between chunks of every stream (a step's own pace wins). */
  readonly firstDelayMs?: number
  readonly delayMs?: number
  /** Speech length per input character (default 20 ms). */
  readonly speechMsPerChar?: number
  /** Speech chunk size in bytes (default 4801: odd, so samples straddle chunks). */
  readonly speechChunkBytes?: number
}

export interface OpenAiFake {
  /** Base URL for the SDK, including /v1. */
  readonly url: string
  readonly port: number
  /** Queues steps for the next requests to an endpoint. */
  readonly script: (endpoint: OpenAiEndpoint, ...steps: ReadonlyArray<FakeStep>) => void
  /** Every request received, in order. */
  readonly requests: ReadonlyArray<RecordedRequest>
  /** Forgets scripted steps and recorded requests. */
  readonly reset: () => void
  readonly close: () => Promise<void>
}

export const DefaultReply = "Bitcoin is at 97,250 dollars, up 2.3 percent today."
export const DefaultTranscript = "What is the price of bitcoin today?"
export const SpeechSampleRate = 24000

/** Words with their trailing space, as LLM deltas come. */
export const words = (text: string): Array<string> => text.match(/\S+\s*/g) ?? []

export const openAiErrorBody = (status: number, type?: string) => {
  const [defaultType, code, message] =
    status === 401
      ? ["invalid_request_error", "invalid_api_key", "Incorrect API key provided."]
      : status === 429
        ? ["requests", "rate_limit_exceeded", "Rate limit reached for requests."]
        : status >= 500
          ? ["server_error", null, "The server had an error while processing your request."]
          : ["invalid_request_error", null, "Invalid request."]
  return { error: { message, type: type ?? defaultType, param: null, code } }
}

/** A PCM16 mono 440 Hz tone at 24 kHz. */
export const speechTone = (ms: number): Uint8Array => {
  const samples = Math.round((SpeechSampleRate * ms) / 1000)
  const out = new Uint8Array(samples * 2)
  const view = new DataView(out.buffer)
  for (let i = 0; i < samples; i++) {
    view.setInt16(i * 2, Math.round(6000 * Math.sin((2 * Math.PI * 440 * i) / SpeechSampleRate)), true)
  }
  return out
}

const split = (bytes: Uint8Array, size: number): Array<Uint8Array> => {
  const out: Array<Uint8Array> = []
  for (let i = 0; i < bytes.byteLength; i += size) out.push(bytes.subarray(i, i + size))
  return out
}

type Json = Record<string, unknown> | undefined
const asRecord = (value: unknown): Json =>
  typeof value === "object" && value !== null ? (value as Record<string, unknown>) : undefined

export const startOpenAiFake = async (options: OpenAiFakeOptions = {}): Promise<OpenAiFake> => {
  const steps = new StepQueue<OpenAiEndpoint>()
  const requests: Array<RecordedRequest> = []
  const pace: Pace = { firstDelayMs: options.firstDelayMs ?? 0, delayMs: options.delayMs ?? 0 }
  let counter = 0

  const chatScript = (res: ServerResponse, json: Json, text: string): StreamScript => {
    const id = `chatcmpl-fake-${++counter}`
    const model = typeof json?.model === "string" ? json.model : "fake-model"
    const chunk = (choices: Array<unknown>, usage: unknown = null) =>
      sseFrame({
        id,
        object: "chat.completion.chunk",
        created: 1764115200,
        model,
        system_fingerprint: null,
        choices,
        usage
      })
    const choice = (delta: unknown, finish: string | null = null) => ({
      index: 0,
      delta,
      logprobs: null,
      finish_reason: finish
    })
    const deltas = words(text)
    const promptTokens = Math.ceil(JSON.stringify(json?.messages ?? []).length / 4)
    const usage = {
      prompt_tokens: promptTokens,
      completion_tokens: deltas.length,
      total_tokens: promptTokens + deltas.length
    }
    return {
      begin: () => startSse(res),
      preamble: [chunk([choice({ role: "assistant", content: "", refusal: null })])],
      chunks: deltas.map((w) => chunk([choice({ content: w })])),
      finish: [
        chunk([choice({}, "stop")]),
        ...(asRecord(json?.stream_options)?.include_usage === true && options.usage !== false
          ? [chunk([], usage)]
          : []),
        "data: [DONE]\n\n"
      ],
      malformed: "data: {this is not json\n\n",
      errorEvent: (type) => sseFrame(openAiErrorBody(500, type))
    }
  }

  const chat = (
    res: ServerResponse,
    step: Exclude<FakeStep, { kind: "status" }>,
    json: Json,
    markFakeClose: () => void
  ) => {
    const text = stepText(step) ?? options.replyText ?? DefaultReply
    if (json?.stream !== true) {
      return sendJson(res, 200, {
        id: `chatcmpl-fake-${++counter}`,
        object: "chat.completion",
        created: 1764115200,
        model: json?.model,
        choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
        usage: { prompt_tokens: 1, completion_tokens: words(text).length, total_tokens: 1 + words(text).length }
      })
    }
    return playStep(res, step, chatScript(res, json, text), pace, markFakeClose)
  }

  const speech = (
    res: ServerResponse,
    step: Exclude<FakeStep, { kind: "status" }>,
    json: Json,
    markFakeClose: () => void
  ) => {
    if (json?.response_format !== "pcm") {
      return sendJson(res, 400, {
        error: {
          message: "This fake speaks only response_format pcm.",
          type: "invalid_request_error",
          param: "response_format",
          code: null
        }
      })
    }
    const input = stepText(step) ?? (typeof json.input === "string" ? json.input : "")
    const audio = speechTone(input.length * (options.speechMsPerChar ?? 20))
    return playStep(
      res,
      step,
      {
        begin: () => {
          res.writeHead(200, { "content-type": "audio/pcm", "transfer-encoding": "chunked" })
          res.flushHeaders()
        },
        preamble: [],
        chunks: split(audio, options.speechChunkBytes ?? 4801),
        finish: [],
        malformed: "",
        errorEvent: () => ""
      },
      pace,
      markFakeClose
    )
  }

  const transcription = (
    res: ServerResponse,
    step: Exclude<FakeStep, { kind: "status" }>,
    fields: Readonly<Record<string, string>>,
    markFakeClose: () => void
  ) => {
    const text = stepText(step) ?? options.transcript ?? DefaultTranscript
    const deltas = words(text)
    const script: StreamScript =
      fields.stream === "true"
        ? {
            begin: () => startSse(res),
            preamble: [],
            chunks: deltas.map((delta) => sseFrame({ type: "transcript.text.delta", delta, logprobs: [] })),
            finish: [
              sseFrame({
                type: "transcript.text.done",
                text,
                usage: {
                  type: "tokens",
                  input_tokens: 10,
                  output_tokens: deltas.length,
                  total_tokens: 10 + deltas.length
                }
              })
            ],
            malformed: "data: {this is not json\n\n",
            errorEvent: (type) => sseFrame(openAiErrorBody(500, type))
          }
        : {
            // One JSON body: it is the single "chunk", so drop/malformed with afterChunks 0 cut it before it starts.
            begin: () => res.writeHead(200, { "content-type": "application/json" }),
            preamble: [],
            chunks: [JSON.stringify({ text, usage: { type: "duration", seconds: 1 } })],
            finish: [],
            malformed: "{this is not json",
            errorEvent: (type) => JSON.stringify(openAiErrorBody(500, type))
          }
    return playStep(res, step, script, pace, markFakeClose)
  }

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req)
    const tracked = trackRequest(req, res, body)
    const path = (req.url ?? "/").split("?")[0]
    const endpoint: OpenAiEndpoint | undefined =
      path === "/v1/chat/completions"
        ? "chat"
        : path === "/v1/audio/speech"
          ? "speech"
          : path === "/v1/audio/transcriptions"
            ? "transcription"
            : undefined
    const auth = req.headers.authorization ?? ""
    const keyOk = options.apiKey === undefined ? /^Bearer \S+/.test(auth) : auth === `Bearer ${options.apiKey}`
    const step: FakeStep = !keyOk
      ? { kind: "status", status: 401 }
      : endpoint === undefined || req.method !== "POST"
        ? { kind: "status", status: 404 }
        : steps.next(endpoint)
    requests.push(tracked.record(step.kind))
    if (step.kind === "status")
      return sendJson(res, step.status, step.body ?? openAiErrorBody(step.status), step.headers)
    const json = asRecord(body.json)
    if (endpoint === "chat") return chat(res, step, json, tracked.markFakeClose)
    if (endpoint === "speech") return speech(res, step, json, tracked.markFakeClose)
    return transcription(res, step, body.fields, tracked.markFakeClose)
  }

  const server = await listenLoopback(handle, options.port ?? 0)
  return {
    url: `http://127.0.0.1:${server.port}/v1`,
    port: server.port,
    script: (endpoint, ...more) => steps.push(endpoint, more),
    requests,
    reset: () => {
      steps.clear()
      requests.length = 0
    },
    close: server.close
  }
}

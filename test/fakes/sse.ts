// Shared by the HTTP provider fakes (OpenAI, Anthropic, and any other fake that speaks HTTP): server-sent-event
// framing and paced writing, reading a request body (JSON or multipart), the record each fake keeps of a request
// (including whether the client hung up early), the fault steps every fake can be scripted with, and starting /
// closing a loopback server.
//
//   sseFrame(data, event?)        one event as text: optional `event:` line, `data:` line(s), blank line
//   startSse(res)                 200 with text/event-stream headers, flushed at once
//   writePaced(res, frames, pace) writes frames with delays; stops when the client has gone; returns frames written
//   playStep(res, step, script)   plays a scripted step (reply or fault) over an endpoint's frames
//   readBody(req)                 { json, fields, files } (multipart parsed with the platform's FormData)
//   listenLoopback(handler, port) an http.Server on 127.0.0.1 (port 0 = any free port) with a close() that also
//                                 drops open (e.g. hanging) connections
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse
} from "node:http"
import type { AddressInfo } from "node:net"

/** One SSE event: `event:` line when named, the data (JSON-encoded unless a string) split over `data:` lines. */
export const sseFrame = (data: unknown, event?: string): string => {
  const text = typeof data === "string" ? data : JSON.stringify(data)
  const lines = text.split("\n").map((line) => `data: ${line}`)
  return `${event === undefined ? "" : `event: ${event}\n`}${lines.join("\n")}\n\n`
}

/** Parses an SSE text body back into events (for tests that read a fake's or a server's stream). */
export const parseSse = (text: string): Array<{ readonly event: string | undefined; readonly data: string }> =>
  text
    .split(/\n\n+/)
    .filter((block) => block.trim().length > 0)
    .map((block) => {
      let event: string | undefined
      const data: Array<string> = []
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim()
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""))
      }
      return { event, data: data.join("\n") }
    })

export const startSse = (res: ServerResponse, headers: Record<string, string> = {}): void => {
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    connection: "keep-alive",
    ...headers
  })
  res.flushHeaders()
}

export const sleep = (ms: number): Promise<void> =>
  ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms))

/** True once the client closed the connection or the response is over. */
export const gone = (res: ServerResponse): boolean => res.destroyed || res.writableEnded

export interface Pace {
  /** Before the first frame. */
  readonly firstDelayMs?: number
  /** Between frames. */
  readonly delayMs?: number
}

/** Writes frames one by one at the given pace; returns how many were written before the client went away. */
export const writePaced = async (
  res: ServerResponse,
  frames: ReadonlyArray<string | Uint8Array>,
  pace: Pace = {}
): Promise<number> => {
  let written = 0
  for (const frame of frames) {
    await sleep(written === 0 ? (pace.firstDelayMs ?? 0) : (pace.delayMs ?? 0))
    if (gone(res)) return written
    res.write(frame)
    written++
  }
  return written
}

/** Cuts the connection under the response (the client sees the body end abruptly). */
export const dropConnection = (res: ServerResponse): void => {
  res.socket?.destroy()
}

/**
 * What a fake does with the next request on an endpoint. Every fake understands these; `reply` is the normal answer
 * (text/pace override the fake's defaults), the others are faults. "chunks" are the endpoint's units: text deltas,
 * audio chunks, transcript deltas.
 */
export type FakeStep =
  | { readonly kind: "reply"; readonly text?: string; readonly firstDelayMs?: number; readonly delayMs?: number }
  /** An HTTP error answer; the body defaults to the provider's error shape for that status. */
  | {
      readonly kind: "status"
      readonly status: number
      readonly headers?: Record<string, string>
      readonly body?: unknown
    }
  /** Never answers: before-headers (no status line at all) or before-first-chunk (headers, then silence). */
  | { readonly kind: "hang"; readonly when?: "before-headers" | "before-first-chunk" }
  /** Sends `afterChunks` chunks, then destroys the socket. */
  | { readonly kind: "drop"; readonly afterChunks: number; readonly text?: string }
  /** Sends `afterChunks` chunks, then ends the response cleanly but without the protocol's end events. */
  | { readonly kind: "end-early"; readonly afterChunks: number; readonly text?: string }
  /** Sends `afterChunks` chunks, then an event whose data is not JSON. */
  | { readonly kind: "malformed"; readonly afterChunks?: number }
  /** Sends `afterChunks` chunks, then the provider's in-stream error event of `errorType`. */
  | { readonly kind: "error-event"; readonly afterChunks?: number; readonly errorType?: string }

/** The frames of one streamed answer, as an endpoint builds them for the text it will send. */
export interface StreamScript {
  /** Writes the status line and headers. */
  readonly begin: () => void
  /** Frames before the content (not counted as chunks), e.g. a role chunk or message_start. */
  readonly preamble: ReadonlyArray<string | Uint8Array>
  /** The content frames: text deltas, audio chunks. */
  readonly chunks: ReadonlyArray<string | Uint8Array>
  /** The frames that end a normal answer, e.g. finish + usage + [DONE]. */
  readonly finish: ReadonlyArray<string | Uint8Array>
  /** A frame that breaks the protocol. */
  readonly malformed: string | Uint8Array
  /** The provider's in-stream error event. */
  readonly errorEvent: (errorType: string | undefined) => string | Uint8Array
}

/** The text a step asks for instead of the fake's default, if any. */
export const stepText = (step: FakeStep): string | undefined =>
  step.kind === "reply" || step.kind === "drop" || step.kind === "end-early" ? step.text : undefined

/** Plays one step (other than "status") over an endpoint's frames at the given pace. */
export const playStep = async (
  res: ServerResponse,
  step: Exclude<FakeStep, { readonly kind: "status" }>,
  script: StreamScript,
  pace: Pace,
  markFakeClose: () => void
): Promise<void> => {
  if (step.kind === "hang") {
    if (step.when === "before-first-chunk") script.begin()
    return // open until the client gives up or the fake closes
  }
  const paced = {
    firstDelayMs: (step.kind === "reply" ? step.firstDelayMs : undefined) ?? pace.firstDelayMs ?? 0,
    delayMs: (step.kind === "reply" ? step.delayMs : undefined) ?? pace.delayMs ?? 0
  }
  script.begin()
  for (const frame of script.preamble) res.write(frame)
  const limit = step.kind === "reply" ? script.chunks.length : (step.afterChunks ?? 0)
  const sent = await writePaced(res, script.chunks.slice(0, limit), paced)
  if (sent < limit || gone(res)) return
  switch (step.kind) {
    case "drop":
      await sleep(10) // let the chunks reach the client before the connection goes
      markFakeClose()
      return dropConnection(res)
    case "malformed":
      res.write(script.malformed)
      break
    case "error-event":
      res.write(script.errorEvent(step.errorType))
      break
    case "reply":
      await sleep(paced.delayMs)
      if (gone(res)) return
      for (const frame of script.finish) res.write(frame)
      break
    case "end-early":
      break
  }
  res.end()
}

/** Each endpoint's scripted steps, used in order; an endpoint with none left answers normally. */
export class StepQueue<K extends string> {
  private readonly steps = new Map<K, Array<FakeStep>>()

  push(endpoint: K, steps: ReadonlyArray<FakeStep>): void {
    this.steps.set(endpoint, [...(this.steps.get(endpoint) ?? []), ...steps])
  }

  next(endpoint: K): FakeStep {
    return this.steps.get(endpoint)?.shift() ?? { kind: "reply" }
  }

  clear(): void {
    this.steps.clear()
  }
}

export interface RecordedFile {
  readonly name: string
  readonly type: string
  readonly bytes: Uint8Array
}

/** What a fake saw of one request. */
export interface RecordedRequest {
  readonly method: string
  /** Path and query, e.g. "/v1/chat/completions". */
  readonly path: string
  readonly headers: IncomingHttpHeaders
  /** The parsed JSON body, if it was JSON. */
  readonly json: unknown
  /** Multipart text fields (e.g. model, response_format, stream). */
  readonly fields: Readonly<Record<string, string>>
  /** Multipart files by field name (e.g. file). */
  readonly files: Readonly<Record<string, RecordedFile>>
  /** The scripted step that answered it. */
  readonly step: FakeStep["kind"]
  /** performance.now() when the request (body included) had arrived. */
  readonly receivedAt: number
  /** Set when the client closed the connection before the fake finished answering (e.g. an aborted request). */
  readonly clientClosed: boolean
  /** Resolves when the connection of this request has closed, whichever side closed it. */
  readonly closed: Promise<void>
  /** performance.now() when the response was over (ended, dropped or closed), once it is. */
  readonly finishedAt: number | undefined
}

export interface ParsedBody {
  readonly json: unknown
  readonly fields: Record<string, string>
  readonly files: Record<string, RecordedFile>
}

export const readBody = async (req: IncomingMessage): Promise<ParsedBody> => {
  const parts: Array<Buffer> = []
  for await (const part of req) parts.push(part as Buffer)
  const raw = Buffer.concat(parts)
  const type = req.headers["content-type"] ?? ""
  const fields: Record<string, string> = {}
  const files: Record<string, RecordedFile> = {}
  if (type.startsWith("multipart/form-data")) {
    const form = await new Request("http://fake.invalid/", {
      method: "POST",
      headers: { "content-type": type },
      body: raw
    }).formData()
    for (const [key, value] of form.entries()) {
      if (typeof value === "string") fields[key] = value
      else files[key] = { name: value.name, type: value.type, bytes: new Uint8Array(await value.arrayBuffer()) }
    }
    return { json: undefined, fields, files }
  }
  if (raw.byteLength === 0) return { json: undefined, fields, files }
  try {
    return { json: JSON.parse(raw.toString("utf8")), fields, files }
  } catch {
    return { json: undefined, fields, files }
  }
}

/**
 * Records a request and tracks its connection: `finish(step)` builds the record once the step is known; the record's
 * `clientClosed` turns true if the connection closes before the fake ended or dropped the response.
 */
export const trackRequest = (req: IncomingMessage, res: ServerResponse, body: ParsedBody) => {
  let closedByFake = false
  let clientClosed = false
  let finishedAt: number | undefined
  const closed = new Promise<void>((resolve) =>
    res.on("close", () => {
      if (!res.writableFinished && !closedByFake) clientClosed = true
      finishedAt ??= performance.now()
      resolve()
    })
  )
  res.on("finish", () => {
    finishedAt ??= performance.now()
  })
  return {
    /** Call before the fake itself cuts the connection, so it does not count as the client's doing. */
    markFakeClose: () => {
      closedByFake = true
    },
    record: (step: FakeStep["kind"]): RecordedRequest => ({
      method: req.method ?? "GET",
      path: req.url ?? "/",
      headers: req.headers,
      json: body.json,
      fields: body.fields,
      files: body.files,
      step,
      receivedAt: performance.now(),
      get clientClosed() {
        return clientClosed
      },
      get finishedAt() {
        return finishedAt
      },
      closed
    })
  }
}

/** An error answer with a JSON body. */
export const sendJson = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { "content-type": "application/json", ...headers })
  res.end(JSON.stringify(body))
}

export interface LoopbackServer {
  readonly server: Server
  readonly port: number
  readonly close: () => Promise<void>
}

/** Listens on 127.0.0.1 (`port` 0 picks a free one); close() also cuts connections still open. */
export const listenLoopback = async (
  handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  port = 0
): Promise<LoopbackServer> => {
  const server = createServer((req, res) => {
    handler(req, res).catch(() => {
      if (!res.headersSent) sendJson(res, 500, { error: { message: "fake failed", type: "server_error" } })
      else res.destroy()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(port, "127.0.0.1", () => resolve())
  })
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

// A local Deepgram: a real HTTP + WebSocket server on 127.0.0.1 that speaks Deepgram's wire protocol (as listed in
// shared/design/PROVIDERS.md), so the adapters run the real @deepgram/sdk against it. Used by the adapter tests, and
// meant for full-session tests and an `npm run fakes` script too.
//
//   const fake = await startDeepgramFake()           // port 0 on 127.0.0.1; key `fake.apiKey` ("test-key")
//   new DeepgramClient({ apiKey: fake.apiKey, baseUrl: fake.url })
//   fake.script({ transcript: "hello world" })       // each call REPLACES the script (unset fields: defaults)
//   fake.connections / fake.requests                 // what it received, per listen connection / speak request
//   await fake.waitFor(() => fake.connections[0]?.closed === true)
//   await fake.close()
//
// Live STT, GET /v1/listen?<params> (WebSocket upgrade), `Authorization: Token <key>` (a wrong key: 401 before the
// upgrade). Binary frames are linear16 audio at the `sample_rate` query parameter; a frame whose RMS exceeds
// `speechThreshold` is speech. The first speech of an utterance sends `SpeechStarted` (when vad_events=true), every
// `interimEveryMs` of speech an interim `Results` (is_final false) with a growing prefix of the transcript. The
// utterance is finalized by the client's `Finalize` (Results is_final + from_finalize true, also sent with an empty
// transcript when no speech was heard), by `endpointing` when scripted ("speech_final": after the `endpointing` query
// parameter's ms of silence, Results is_final + speech_final; "utterance_end": is_final Results then `UtteranceEnd`),
// or at `CloseStream` (pending speech as a final Results, then `Metadata`, then close 1000). `KeepAlive` is recorded
// and answered with nothing. Results carry `start`/`duration` in seconds of audio received on the connection.
//
// Speak, POST /v1/speak?<params> with JSON {"text"}: linear16 audio at the `sample_rate` parameter (a 440 Hz tone of
// `msPerChar` ms per character), written in `chunkBytes` pieces (odd by default, so a client must carry a byte).
//
// Failure scripts: handshake status (401/403/429/500… with an optional retry-after), `hangHandshake` (the upgrade is
// never answered), `handshakeDelayMs` (answered late), `stallReading` (the socket is never read once open), `silent`
// (accepts the socket, never sends anything), `dropAfterAudioMs` (terminates the socket),
// `malformedAfterAudioMs` (one non-JSON text message), `closeAfterAudioMs` (a server close with a code),
// `idleTimeoutMs` (closes 1011 after that long without audio or KeepAlive, as the real service does after ~10 s),
// `messageDelayMs` (every message late); speak `status`, `hang`, `chunkDelayMs` (slow), `dropAfterBytes`.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo, Socket } from "node:net"
import { type RawData, type WebSocket, WebSocketServer } from "ws"

export interface DeepgramFakeScript {
  /** The transcript of each utterance; with an array the n-th utterance gets the n-th (the last one repeats). */
  readonly transcript?: string | ReadonlyArray<string>
  /** RMS level above which a frame counts as speech (PCM16 units). */
  readonly speechThreshold?: number
  /** An interim Results after every this many ms of speech. */
  readonly interimEveryMs?: number
  /** How the fake ends an utterance by itself; "none" leaves it to Finalize / CloseStream. */
  readonly endpointing?: "none" | "speech_final" | "utterance_end"
  /** Reject the listen handshake with this HTTP status (before the upgrade). */
  readonly handshakeStatus?: number
  /** Sent with a rejected handshake or a speak error, as the `retry-after` header. */
  readonly retryAfter?: string
  /** Never answer the listen upgrade request (the client's connect timeout must fire). */
  readonly hangHandshake?: boolean
  /** Answer the listen upgrade request after this long (a slow handshake). */
  readonly handshakeDelayMs?: number
  /** Stop reading the listen socket once it is open (a stalled connection: the client's send buffer fills up). */
  readonly stallReading?: boolean
  /** Accept the listen socket but never send anything (nor close after CloseStream). */
  readonly silent?: boolean
  /** Terminate the listen socket (no close frame) once this much audio has arrived. */
  readonly dropAfterAudioMs?: number
  /** Send one non-JSON text message once this much audio has arrived. */
  readonly malformedAfterAudioMs?: number
  /** Close the listen socket with `code` once this much audio has arrived. */
  readonly closeAfterAudioMs?: { readonly ms: number; readonly code: number; readonly reason?: string }
  /** Close 1011 after this long without audio or KeepAlive (the real service: ~10 s). */
  readonly idleTimeoutMs?: number
  /** Delay every listen message by this long (order kept). */
  readonly messageDelayMs?: number
  /** Speak: answer with this HTTP status and a JSON error body instead of audio. */
  readonly speakStatus?: number
  /** Speak: never answer. */
  readonly speakHang?: boolean
  /** Speak: ms of audio per character of text. */
  readonly msPerChar?: number
  /** Speak: bytes per written chunk (odd by default). */
  readonly chunkBytes?: number
  /** Speak: pause between chunks (a slow stream). */
  readonly chunkDelayMs?: number
  /** Speak: destroy the response socket after this many audio bytes. */
  readonly dropAfterBytes?: number
}

const defaults = {
  transcript: "hello world" as string | ReadonlyArray<string>,
  speechThreshold: 500,
  interimEveryMs: 200,
  endpointing: "none" as "none" | "speech_final" | "utterance_end",
  msPerChar: 40,
  chunkBytes: 4801,
  chunkDelayMs: 2
}

type Script = typeof defaults & DeepgramFakeScript

export type ListenControl = "KeepAlive" | "Finalize" | "CloseStream"

/** One listen connection attempt, as the fake saw it. */
export interface ListenConnection {
  readonly query: Record<string, string>
  readonly headers: IncomingHttpHeaders
  /** Set when the handshake was refused (or left hanging: 0). */
  rejectedWith: number | undefined
  audioFrames: number
  audioBytes: number
  /** The first sample of each audio frame, in arrival order (tests mark their frames with it). */
  readonly frameStarts: Array<number>
  /** Control messages in arrival order, each with the number of audio frames received before it. */
  readonly controls: Array<{ readonly type: string; readonly afterAudioFrames: number }>
  /** Every JSON message the fake sent, in order. */
  readonly sent: Array<Record<string, unknown>>
  /** The socket is closed, by whom and with which code. */
  closed: boolean
  closedBy: "client" | "server" | undefined
  closeCode: number | undefined
}

export interface SpeakRequest {
  readonly query: Record<string, string>
  readonly headers: IncomingHttpHeaders
  readonly text: string
  status: number
  /** Audio bytes written to the response. */
  audioBytes: number
  /** The connection closed before the response was complete (client gave up or a drop was scripted). */
  aborted: boolean
}

export interface DeepgramFake {
  /** http://127.0.0.1:PORT, for the SDK's `baseUrl`. */
  readonly url: string
  readonly port: number
  /** The key the fake accepts (`Authorization: Token <key>`). */
  readonly apiKey: string
  /** Replaces the script for the connections and requests that follow. */
  readonly script: (next?: DeepgramFakeScript) => void
  readonly connections: ReadonlyArray<ListenConnection>
  readonly requests: ReadonlyArray<SpeakRequest>
  /** Resolves when `check()` holds, polling every 5 ms; rejects after `timeoutMs`. */
  readonly waitFor: (check: () => boolean, timeoutMs?: number) => Promise<void>
  readonly close: () => Promise<void>
}

const queryOf = (url: string): Record<string, string> =>
  Object.fromEntries(new URL(url, "http://127.0.0.1").searchParams.entries())

const statusText: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable"
}

const rms = (pcm: Buffer): number => {
  const samples = pcm.byteLength >> 1
  if (samples === 0) return 0
  let sum = 0
  for (let i = 0; i < samples; i++) {
    const s = pcm.readInt16LE(i * 2)
    sum += s * s
  }
  return Math.sqrt(sum / samples)
}

const toneBytes = (sampleRate: number, ms: number): Buffer => {
  const samples = Math.max(1, Math.round((ms * sampleRate) / 1000))
  const out = Buffer.alloc(samples * 2)
  const step = (2 * Math.PI * 440) / sampleRate
  for (let i = 0; i < samples; i++) out.writeInt16LE(Math.round(6000 * Math.sin(step * i)), i * 2)
  return out
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

export const startDeepgramFake = async (
  options: { readonly apiKey?: string; readonly port?: number } = {}
): Promise<DeepgramFake> => {
  const apiKey = options.apiKey ?? "test-key"
  let script: Script = { ...defaults }
  const connections: Array<ListenConnection> = []
  const requests: Array<SpeakRequest> = []
  const sockets = new Set<Socket>()
  const timers = new Set<ReturnType<typeof setTimeout>>()
  const later = (ms: number, f: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer)
      f()
    }, ms)
    timers.add(timer)
    return timer
  }
  const authorized = (headers: IncomingHttpHeaders) => headers.authorization === `Token ${apiKey}`

  // ---- speak (REST) ----

  const onSpeak = async (req: IncomingMessage, res: ServerResponse, current: Script) => {
    const chunks: Array<Buffer> = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    let text = ""
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { text?: unknown }
      text = typeof body.text === "string" ? body.text : ""
    } catch {
      text = ""
    }
    const record: SpeakRequest = {
      query: queryOf(req.url ?? ""),
      headers: req.headers,
      text,
      status: 0,
      audioBytes: 0,
      aborted: false
    }
    requests.push(record)
    res.on("close", () => {
      if (!res.writableFinished) record.aborted = true
    })
    const fail = (status: number, message: string) => {
      record.status = status
      res.writeHead(status, {
        "content-type": "application/json",
        ...(current.retryAfter === undefined ? {} : { "retry-after": current.retryAfter })
      })
      res.end(JSON.stringify({ err_code: statusText[status] ?? "ERROR", err_msg: message, request_id: "fake" }))
    }
    if (!authorized(req.headers)) return fail(401, "Invalid credentials.")
    if (current.speakHang) return
    if (current.speakStatus !== undefined) return fail(current.speakStatus, "Scripted failure.")
    if (text.length === 0) return fail(400, "Text is required.")
    const sampleRate = Number(record.query.sample_rate ?? "24000")
    const audio = toneBytes(sampleRate, text.length * current.msPerChar)
    record.status = 200
    res.writeHead(200, { "content-type": "audio/l16", "transfer-encoding": "chunked" })
    for (let offset = 0; offset < audio.byteLength; offset += current.chunkBytes) {
      if (res.destroyed) return
      if (current.dropAfterBytes !== undefined && record.audioBytes >= current.dropAfterBytes) {
        record.aborted = true
        res.socket?.destroy()
        return
      }
      const piece = audio.subarray(offset, Math.min(audio.byteLength, offset + current.chunkBytes))
      res.write(piece)
      record.audioBytes += piece.byteLength
      if (current.chunkDelayMs > 0) await sleep(current.chunkDelayMs)
    }
    res.end()
  }

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://127.0.0.1").pathname
    if (req.method === "POST" && path === "/v1/speak") {
      onSpeak(req, res, script).catch(() => res.destroy())
      return
    }
    res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ err_msg: "not found" }))
  })
  server.on("connection", (socket) => {
    sockets.add(socket)
    socket.on("close", () => sockets.delete(socket))
  })

  // ---- listen (WebSocket) ----

  const wss = new WebSocketServer({ noServer: true })

  const refuse = (socket: Socket, status: number, retryAfter: string | undefined) => {
    const body = JSON.stringify({ err_code: statusText[status] ?? "ERROR", err_msg: "Refused.", request_id: "fake" })
    socket.end(
      `HTTP/1.1 ${status} ${statusText[status] ?? "Error"}\r\ncontent-type: application/json\r\n` +
        (retryAfter === undefined ? "" : `retry-after: ${retryAfter}\r\n`) +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`
    )
  }

  server.on("upgrade", (req, socket: Socket, head) => {
    const path = new URL(req.url ?? "/", "http://127.0.0.1").pathname
    if (path !== "/v1/listen") return refuse(socket, 404, undefined)
    const current = script
    const record: ListenConnection = {
      query: queryOf(req.url ?? ""),
      headers: req.headers,
      rejectedWith: undefined,
      audioFrames: 0,
      audioBytes: 0,
      frameStarts: [],
      controls: [],
      sent: [],
      closed: false,
      closedBy: undefined,
      closeCode: undefined
    }
    connections.push(record)
    if (!authorized(req.headers)) {
      record.rejectedWith = 401
      return refuse(socket, 401, undefined)
    }
    if (current.hangHandshake) {
      record.rejectedWith = 0
      return
    }
    if (current.handshakeStatus !== undefined) {
      record.rejectedWith = current.handshakeStatus
      return refuse(socket, current.handshakeStatus, current.retryAfter)
    }
    const accept = () =>
      wss.handleUpgrade(req, socket, head, (ws) => {
        runListen(ws, record, current)
        if (current.stallReading) socket.pause()
      })
    if (current.handshakeDelayMs === undefined) return accept()
    later(current.handshakeDelayMs, accept)
  })

  const runListen = (ws: WebSocket, record: ListenConnection, current: Script) => {
    const sampleRate = Number(record.query.sample_rate ?? "16000")
    const vad = record.query.vad_events === "true"
    const interim = record.query.interim_results === "true"
    const endpointingMs = Number(record.query.endpointing ?? "10")
    let audioSec = 0 // audio received so far
    let segmentStart = 0 // start of the audio not yet covered by a final result
    let speechMs = 0 // speech in the current utterance
    let silenceAfterSpeechMs = 0
    let interims = 0
    let utterances = 0
    let malformedSent = false
    let closing = false
    let outgoing = Promise.resolve()
    let idleTimer: ReturnType<typeof setTimeout> | undefined

    const transcript = () => {
      const t = current.transcript
      return typeof t === "string" ? t : (t[Math.min(utterances, t.length - 1)] ?? "")
    }
    const send = (message: Record<string, unknown> | string) => {
      if (current.silent) return
      const deliver = () => {
        if (ws.readyState !== ws.OPEN) return
        if (typeof message === "string") return ws.send(message)
        record.sent.push(message)
        ws.send(JSON.stringify(message))
      }
      if (current.messageDelayMs === undefined) return deliver()
      outgoing = outgoing.then(() => sleep(current.messageDelayMs ?? 0)).then(deliver)
    }
    const closeWith = (code: number, reason = "") => {
      if (current.messageDelayMs === undefined) return ws.close(code, reason)
      outgoing = outgoing.then(() => ws.close(code, reason))
    }
    const results = (fields: { isFinal: boolean; speechFinal: boolean; fromFinalize: boolean; text: string }) =>
      send({
        type: "Results",
        channel_index: [0, 1],
        duration: Number((audioSec - segmentStart).toFixed(3)),
        start: Number(segmentStart.toFixed(3)),
        is_final: fields.isFinal,
        speech_final: fields.speechFinal,
        from_finalize: fields.fromFinalize,
        channel: {
          alternatives: [
            {
              transcript: fields.text,
              confidence: fields.text.length > 0 ? 0.98 : 0,
              words: fields.text
                .split(/\s+/)
                .filter((w) => w.length > 0)
                .map((word) => ({ word, start: segmentStart, end: audioSec, confidence: 0.98 }))
            }
          ]
        },
        metadata: { request_id: "fake", model_info: { name: "fake", version: "1", arch: "fake" } }
      })
    /** A final result for the audio since the last one; ends the utterance when it had speech. */
    const finalize = (how: { speechFinal: boolean; fromFinalize: boolean }) => {
      const heard = speechMs > 0
      results({ isFinal: true, ...how, text: heard ? transcript() : "" })
      segmentStart = audioSec
      if (heard) utterances++
      speechMs = 0
      silenceAfterSpeechMs = 0
      interims = 0
      return heard
    }
    const armIdle = () => {
      if (current.idleTimeoutMs === undefined) return
      if (idleTimer !== undefined) clearTimeout(idleTimer)
      idleTimer = later(current.idleTimeoutMs, () => {
        closing = true
        closeWith(1011, "Deepgram did not receive audio data or a text message within the timeout window.")
      })
    }
    armIdle()

    const onAudio = (pcm: Buffer) => {
      record.audioFrames++
      record.audioBytes += pcm.byteLength
      if (pcm.byteLength >= 2) record.frameStarts.push(pcm.readInt16LE(0))
      armIdle()
      const ms = (pcm.byteLength / 2 / sampleRate) * 1000
      const receivedMs = (record.audioBytes / 2 / sampleRate) * 1000
      if (current.dropAfterAudioMs !== undefined && receivedMs >= current.dropAfterAudioMs) {
        closing = true
        ws.terminate()
        return
      }
      if (current.closeAfterAudioMs !== undefined && receivedMs >= current.closeAfterAudioMs.ms) {
        closing = true
        closeWith(current.closeAfterAudioMs.code, current.closeAfterAudioMs.reason ?? "")
        return
      }
      if (
        !malformedSent &&
        current.malformedAfterAudioMs !== undefined &&
        receivedMs >= current.malformedAfterAudioMs
      ) {
        malformedSent = true
        send("{this is not json")
      }
      const wasSpeaking = speechMs > 0
      audioSec += ms / 1000
      if (rms(pcm) > current.speechThreshold) {
        if (!wasSpeaking && vad) send({ type: "SpeechStarted", channel: [0], timestamp: Number(audioSec.toFixed(3)) })
        speechMs += ms
        silenceAfterSpeechMs = 0
        if (interim && speechMs >= (interims + 1) * current.interimEveryMs) {
          interims++
          const words = transcript().split(/\s+/)
          const shown = Math.max(1, Math.min(words.length - 1, interims))
          results({ isFinal: false, speechFinal: false, fromFinalize: false, text: words.slice(0, shown).join(" ") })
        }
        return
      }
      if (!wasSpeaking) return
      silenceAfterSpeechMs += ms
      if (current.endpointing !== "none" && silenceAfterSpeechMs >= endpointingMs) {
        const lastWordEnd = Number(audioSec.toFixed(3))
        finalize({ speechFinal: current.endpointing === "speech_final", fromFinalize: false })
        if (current.endpointing === "utterance_end")
          send({ type: "UtteranceEnd", channel: [0, 1], last_word_end: lastWordEnd })
      }
    }

    const onControl = (text: string) => {
      let type = "invalid"
      try {
        const parsed = JSON.parse(text) as { type?: unknown }
        type = typeof parsed.type === "string" ? parsed.type : "invalid"
      } catch {
        type = "invalid"
      }
      record.controls.push({ type, afterAudioFrames: record.audioFrames })
      switch (type) {
        case "KeepAlive":
          armIdle()
          return
        case "Finalize":
          finalize({ speechFinal: false, fromFinalize: true })
          return
        case "CloseStream":
          if (current.silent) return
          closing = true
          if (speechMs > 0) finalize({ speechFinal: false, fromFinalize: false })
          send({
            type: "Metadata",
            transaction_key: "deprecated",
            request_id: "fake",
            sha256: "0",
            created: "2026-11-26T00:00:00.000Z",
            duration: Number(audioSec.toFixed(3)),
            channels: 1
          })
          closeWith(1000)
          return
        default:
          send({ type: "Error", description: `Unknown message type ${type}`, message: "", variant: "" })
      }
    }

    ws.on("message", (data: RawData, isBinary: boolean) => {
      if (closing) return
      const buffer = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer)
      if (isBinary) onAudio(buffer)
      else onControl(buffer.toString("utf8"))
    })
    ws.on("close", (code) => {
      if (idleTimer !== undefined) clearTimeout(idleTimer)
      record.closed = true
      record.closedBy = closing ? "server" : "client"
      record.closeCode = code
    })
    ws.on("error", () => {})
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve))
  const port = (server.address() as AddressInfo).port

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    apiKey,
    script: (next = {}) => {
      script = { ...defaults, ...next } as Script
    },
    connections,
    requests,
    waitFor: async (check, timeoutMs = 5000) => {
      const deadline = performance.now() + timeoutMs
      while (!check()) {
        if (performance.now() > deadline) throw new Error(`DeepgramFake.waitFor: not true after ${timeoutMs} ms`)
        await sleep(5)
      }
    },
    close: async () => {
      for (const timer of timers) clearTimeout(timer)
      for (const client of wss.clients) client.terminate()
      for (const socket of sockets) socket.destroy()
      wss.close()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}

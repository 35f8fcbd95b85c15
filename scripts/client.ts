// Command-line test client for the voice-stream server: opens /v1/stream with a bearer token, streams a WAV
// file in real time (or sends a typed turn), prints every server event as one timestamped line, and writes
// the spoken reply to a WAV file.
//   npm run client -- --url ws://localhost:3001/v1/stream --token <jwt> --wav question.wav --out reply.wav
// Exit codes: 0 = the turn completed (response.done), 1 = refused/failed/timed out, 2 = bad arguments or input.
import { readFileSync, writeFileSync } from "node:fs"
import type { IncomingMessage } from "node:http"
import { setTimeout as sleep } from "node:timers/promises"
import { parseArgs } from "node:util"
import { Result, Schema } from "effect"
import WebSocket, { type RawData } from "ws"
import { resample } from "../src/audio/Pcm.ts"
import { ServerEvent } from "../src/domain/Protocol.ts"
import { encodeWav, isSupportedRate, parseWav } from "./wav.ts"

const USAGE = `usage: npm run client -- --url <ws url> --token <jwt> (--wav <file> | --text "<question>")
                         [--out <reply.wav>] [--timeout 60s] [--origin <origin>]
  --url      WebSocket URL of the stream endpoint, e.g. ws://localhost:3001/v1/stream
  --token    access token (see npm run token), sent as "Authorization: Bearer <token>"
  --wav      16-bit PCM WAV to stream in real time as 20 ms frames, then commit
  --text     send a typed turn (input.text) instead of audio
  --out      write the reply audio to this WAV file
  --timeout  give up if no response.done arrives in time: 500ms, 30s, 2m (default 60s)
  --origin   Origin header to send (to test the server's origin check)`

const FRAME_MS = 20
/** After the commit, how long a reply that came before it must stay the last turn to count as the answer. */
const ANSWERED_BEFORE_COMMIT_GRACE_MS = 1500
const DEFAULT_INPUT_RATE = 16000
const REQUESTED_OUTPUT_RATE = 24000
const CLIENT_INFO = { name: "voice-stream-client", version: "0.1.0" }

interface ClientOptions {
  readonly url: string
  readonly token: string
  readonly wav: string | undefined
  readonly text: string | undefined
  readonly out: string | undefined
  readonly timeoutMs: number
  readonly timeoutText: string
  readonly origin: string | undefined
}

/** What the client sends for its one turn: audio ready at a supported rate, or a typed question. */
type TurnInput =
  | { readonly kind: "audio"; readonly pcm: Uint8Array; readonly sampleRate: number; readonly note: string }
  | { readonly kind: "text"; readonly text: string }

/** A server event as received: checked against the protocol, but handled leniently. */
type Incoming = { readonly type: string } & Readonly<Record<string, unknown>>

interface RunState {
  readonly startedAt: number
  outputRate: number
  /** Set once input.commit or input.text has been sent: the next response.done ends the run. */
  inputComplete: boolean
  /** Highest turn number seen on any event. */
  lastTurn: number
  /** Turn of the last response.done received. */
  lastDoneTurn: number
  finished: boolean
  readonly audio: Array<Uint8Array>
  audioBytes: number
  /** Binary frames and bytes since the last response.audio.start/done, reported at response.audio.done. */
  turnFrames: number
  turnBytes: number
}

// ---- arguments and input ----

const usageError = (message: string): never => {
  console.error(`${message}\n\n${USAGE}`)
  process.exit(2)
}

/** Milliseconds in "500ms", "30s", "2m" or "1h"; a bare number counts as seconds. Null when invalid. */
const parseDuration = (text: string): number | null => {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim())
  if (match === null) return null
  const scale = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? "s"]!
  const ms = Math.round(Number(match[1]) * scale)
  return ms > 0 && ms <= 2_147_483_647 ? ms : null
}

const readOptions = (): ClientOptions => {
  let values: Record<string, string | boolean | undefined>
  try {
    values = parseArgs({
      options: {
        url: { type: "string" },
        token: { type: "string" },
        wav: { type: "string" },
        text: { type: "string" },
        out: { type: "string" },
        timeout: { type: "string" },
        origin: { type: "string" },
        help: { type: "boolean", short: "h" }
      },
      strict: true,
      allowPositionals: false
    }).values
  } catch (error) {
    return usageError(error instanceof Error ? error.message : String(error))
  }
  if (values.help === true) {
    console.log(USAGE)
    process.exit(0)
  }
  const str = (name: string): string | undefined => {
    const value = values[name]
    return typeof value === "string" ? value : undefined
  }
  const url = str("url")
  const token = str("token")
  if (url === undefined || url === "") return usageError("missing --url")
  if (!/^wss?:\/\//i.test(url)) return usageError(`--url must start with ws:// or wss://, got ${JSON.stringify(url)}`)
  if (token === undefined || token === "") return usageError("missing --token")
  const wav = str("wav")
  const text = str("text")
  if (wav === undefined && text === undefined) return usageError("give --wav <file> or --text <question>")
  if (wav !== undefined && text !== undefined) return usageError("give either --wav or --text, not both")
  if (text !== undefined && text.trim() === "") return usageError("--text is empty")
  const timeoutText = str("timeout") ?? "60s"
  const timeoutMs = parseDuration(timeoutText)
  if (timeoutMs === null) return usageError(`invalid --timeout ${JSON.stringify(timeoutText)}: use e.g. 30s, 2m`)
  return { url, token, wav, text, out: str("out"), timeoutMs, timeoutText, origin: str("origin") }
}

/** Reads the WAV (or takes the text); the audio is sent at its own rate when supported, else resampled to 16 kHz. */
const loadInput = (options: ClientOptions): TurnInput => {
  if (options.text !== undefined) return { kind: "text", text: options.text }
  const file = options.wav!
  let bytes: Uint8Array
  try {
    bytes = readFileSync(file)
  } catch (error) {
    return usageError(`cannot read --wav ${file}: ${error instanceof Error ? error.message : String(error)}`)
  }
  let wav: ReturnType<typeof parseWav>
  try {
    wav = parseWav(bytes)
  } catch (error) {
    return usageError(`cannot use --wav ${file}: ${error instanceof Error ? error.message : String(error)}`)
  }
  if (wav.pcm.byteLength < 2) return usageError(`cannot use --wav ${file}: it holds no audio samples`)
  const channels = wav.channels === 1 ? "mono" : `${wav.channels} channels downmixed to mono`
  if (isSupportedRate(wav.sampleRate)) {
    return { kind: "audio", pcm: wav.pcm, sampleRate: wav.sampleRate, note: `${wav.sampleRate} Hz ${channels}` }
  }
  return {
    kind: "audio",
    pcm: resample(wav.pcm, wav.sampleRate, DEFAULT_INPUT_RATE),
    sampleRate: DEFAULT_INPUT_RATE,
    note: `${wav.sampleRate} Hz ${channels}, resampled to ${DEFAULT_INPUT_RATE} Hz`
  }
}

// ---- printing ----

const elapsed = (state: RunState): string => `+${Math.round(performance.now() - state.startedAt)}ms`

/** One stdout line: `+<ms>ms <what> <summary>`. Lines for messages the client sent start with ">". */
const printLine = (state: RunState, what: string, summary: string): void => {
  console.log(summary === "" ? `${elapsed(state)} ${what}` : `${elapsed(state)} ${what} ${summary}`)
}

const clip = (text: string, max = 160): string => (text.length > max ? `${text.slice(0, max - 1)}…` : text)
const quoted = (value: unknown): string => JSON.stringify(typeof value === "string" ? value : String(value))
const turnOf = (event: Incoming): number | undefined => (typeof event.turn === "number" ? event.turn : undefined)

const summarize = (event: Incoming, state: RunState): string => {
  const turn = turnOf(event) === undefined ? "" : `turn=${event.turn} `
  const format = (value: unknown): string => {
    const rate = (value as { sampleRate?: unknown } | undefined)?.sampleRate
    return `${rate}Hz`
  }
  switch (event.type) {
    case "session.started":
      return `session=${event.sessionId} input=${format(event.input)} output=${format(event.output)}`
    case "transcript.partial":
    case "transcript.final":
      return `${turn}${quoted(event.text)}`
    case "response.text.delta":
      return `${turn}${quoted(event.delta)}`
    case "context":
      return `${turn}${clip(JSON.stringify(event.context))}`
    case "response.audio.start":
      return `${turn}${format(event.format)}`
    case "response.audio.done":
      return (
        `${turn}bytes=${event.bytes} durationMs=${event.durationMs} ` +
        `(received ${state.turnFrames} frames, ${state.turnBytes} bytes)`
      )
    case "response.done":
      return `${turn}${quoted(event.text)} latency=${JSON.stringify(event.latency)}`
    case "response.cancelled":
      return `${turn}reason=${event.reason} textSent=${quoted(event.textSent)}`
    case "error": {
      const extra = [
        event.recoverable === true ? "recoverable" : "fatal",
        ...(typeof event.retryAfterMs === "number" ? [`retryAfterMs=${event.retryAfterMs}`] : [])
      ]
      return `${turn}${event.code}: ${event.message} (${extra.join(", ")})`
    }
    case "session.ended":
      return `reason=${event.reason}`
    case "pong":
      return event.id === undefined ? "" : `id=${JSON.stringify(event.id)}`
    default: {
      const { type: _type, ...rest } = event
      return clip(JSON.stringify(rest))
    }
  }
}

// ---- the run ----

const checkEvent = Schema.decodeUnknownResult(ServerEvent)

/** Parses a text frame; warns on stderr when it is not a protocol event but still returns anything with a type. */
const parseEvent = (text: string): Incoming | null => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    console.error(`warning: server sent a text frame that is not JSON: ${clip(text)}`)
    return null
  }
  if (typeof json !== "object" || json === null || typeof (json as { type?: unknown }).type !== "string") {
    console.error(`warning: server sent a message without a type: ${clip(text)}`)
    return null
  }
  const checked = checkEvent(json)
  if (Result.isFailure(checked)) {
    console.error(
      `warning: ${(json as Incoming).type} does not match the protocol: ${checked.failure.message.replace(/\s*\n\s*/g, " ")}`
    )
  }
  return json as Incoming
}

const binaryBytes = (data: RawData): Uint8Array => {
  if (Array.isArray(data)) return Buffer.concat(data)
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data
}

/** Prints the refusal of the upgrade: `refused: <status> <error>: <message>` from the JSON body. */
const describeRefusal = async (res: IncomingMessage): Promise<string> => {
  const chunks: Array<Buffer> = []
  try {
    for await (const chunk of res) chunks.push(chunk as Buffer)
  } catch {
    // a truncated body still gives the status line below
  }
  const body = Buffer.concat(chunks).toString("utf8")
  try {
    const parsed = JSON.parse(body) as { error?: unknown; message?: unknown }
    return `refused: ${res.statusCode} ${parsed.error}: ${parsed.message}`
  } catch {
    return `refused: ${res.statusCode} ${res.statusMessage ?? ""}: ${clip(body.trim()) || "(no body)"}`
  }
}

/** Sends `pcm` as 20 ms binary frames, frame i due at start + i*20 ms. False when stopped early. */
const streamAudio = async (ws: WebSocket, pcm: Uint8Array, sampleRate: number, state: RunState): Promise<boolean> => {
  const frameBytes = (sampleRate * 2 * FRAME_MS) / 1000
  const start = performance.now()
  for (let i = 0; i * frameBytes < pcm.byteLength; i++) {
    const wait = start + i * FRAME_MS - performance.now()
    if (wait > 0) await sleep(wait)
    if (state.finished || ws.readyState !== WebSocket.OPEN) return false
    ws.send(pcm.subarray(i * frameBytes, (i + 1) * frameBytes), { binary: true })
  }
  return true
}

const sendJson = (ws: WebSocket, message: object): void => {
  ws.send(JSON.stringify(message))
}

const sendInput = async (ws: WebSocket, input: TurnInput, state: RunState): Promise<void> => {
  if (input.kind === "text") {
    sendJson(ws, { type: "input.text", text: input.text })
    state.inputComplete = true
    printLine(state, "> input.text", quoted(input.text))
    return
  }
  const frames = Math.ceil(input.pcm.byteLength / ((input.sampleRate * 2 * FRAME_MS) / 1000))
  const audioMs = Math.round(input.pcm.byteLength / 2 / (input.sampleRate / 1000))
  printLine(state, "> audio", `streaming ${frames} frames (${audioMs} ms, ${input.note})`)
  if (!(await streamAudio(ws, input.pcm, input.sampleRate, state))) return
  sendJson(ws, { type: "input.commit" })
  state.inputComplete = true
  printLine(state, "> input.commit", `after ${frames} frames`)
}

/** Writes the reply WAV (always on success, on failure only when audio arrived) and prints the summary line. */
const saveReply = (options: ClientOptions, state: RunState, code: number): number => {
  const durationMs = Math.round(state.audioBytes / 2 / (state.outputRate / 1000))
  const audio = `reply audio: ${state.audioBytes} bytes, ${durationMs} ms at ${state.outputRate} Hz`
  if (options.out === undefined) {
    console.log(`${audio} (no --out given)`)
    return code
  }
  if (code !== 0 && state.audioBytes === 0) {
    console.log(`${audio}; ${options.out} not written`)
    return code
  }
  try {
    writeFileSync(options.out, encodeWav(Buffer.concat(state.audio), state.outputRate))
    console.log(`${audio}, written to ${options.out}`)
    return code
  } catch (error) {
    console.error(`cannot write ${options.out}: ${error instanceof Error ? error.message : String(error)}`)
    return 1
  }
}

/** Ends the run once: saves the reply, reports, closes the socket with 1000 and exits. */
const makeFinish =
  (ws: WebSocket, options: ClientOptions, state: RunState) =>
  (code: number, failure?: string): void => {
    if (state.finished) return
    state.finished = true
    const exitCode = saveReply(options, state, code)
    if (failure !== undefined) console.error(failure)
    const exit = () => process.exit(exitCode)
    if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CLOSING) {
      ws.once("close", exit)
      setTimeout(exit, 2000).unref()
      if (ws.readyState === WebSocket.OPEN) ws.close(1000, "client done")
    } else {
      exit()
    }
  }

/** Reacts to one server event: starts the input after session.started, ends the run on the events that decide it. */
const onEvent = (
  event: Incoming,
  state: RunState,
  startInput: () => void,
  finish: (code: number, failure?: string) => void
): void => {
  const turn = turnOf(event)
  if (turn !== undefined && turn > state.lastTurn) state.lastTurn = turn
  if (event.type === "response.audio.start") {
    state.turnFrames = 0
    state.turnBytes = 0
  }
  printLine(state, event.type, summarize(event, state))
  switch (event.type) {
    case "session.started": {
      const rate = (event.output as { sampleRate?: unknown } | undefined)?.sampleRate
      if (typeof rate === "number" && rate > 0) state.outputRate = rate
      startInput()
      return
    }
    case "response.audio.done":
      state.turnFrames = 0
      state.turnBytes = 0
      return
    case "response.done":
      if (turn !== undefined) state.lastDoneTurn = turn
      if (state.inputComplete) finish(0)
      return
    case "error":
      if (event.recoverable !== true || event.code === "no_speech" || (turn !== undefined && turn === state.lastTurn)) {
        finish(1, `error ${event.code}: ${event.message}`)
      }
      return
    case "session.ended":
      finish(1, `session ended before response.done: ${event.reason}`)
      return
  }
}

const run = (options: ClientOptions, input: TurnInput): void => {
  const state: RunState = {
    startedAt: performance.now(),
    outputRate: REQUESTED_OUTPUT_RATE,
    inputComplete: false,
    lastTurn: 0,
    lastDoneTurn: 0,
    finished: false,
    audio: [],
    audioBytes: 0,
    turnFrames: 0,
    turnBytes: 0
  }
  const ws = new WebSocket(options.url, {
    headers: { Authorization: `Bearer ${options.token}` },
    ...(options.origin === undefined ? {} : { origin: options.origin }),
    handshakeTimeout: Math.min(options.timeoutMs, 30_000)
  })
  const finish = makeFinish(ws, options, state)
  const startInput = () => {
    sendInput(ws, input, state)
      .then(() => {
        // The server may have ended the utterance on its own and answered before the commit (which then adds
        // nothing): when no new turn starts within a moment, that answer was the reply to this audio.
        if (input.kind !== "audio" || state.lastDoneTurn === 0 || state.lastDoneTurn !== state.lastTurn) return
        setTimeout(() => {
          if (!state.finished && state.lastDoneTurn === state.lastTurn) finish(0)
        }, ANSWERED_BEFORE_COMMIT_GRACE_MS).unref()
      })
      .catch((error: unknown) => finish(1, `sending failed: ${String(error)}`))
  }
  setTimeout(
    () => finish(1, `timed out waiting for response.done (--timeout ${options.timeoutText})`),
    options.timeoutMs
  ).unref()
  process.once("SIGINT", () => finish(1, "interrupted"))

  ws.on("unexpected-response", (_req, res) => {
    describeRefusal(res).then((message) => finish(1, message))
  })
  ws.on("error", (error) => finish(1, `connection error: ${error.message}`))
  ws.on("open", () => {
    const inputRate = input.kind === "audio" ? input.sampleRate : DEFAULT_INPUT_RATE
    sendJson(ws, {
      type: "session.start",
      input: { sampleRate: inputRate },
      output: { sampleRate: REQUESTED_OUTPUT_RATE },
      client: CLIENT_INFO
    })
    printLine(state, "> session.start", `input=${inputRate}Hz output=${REQUESTED_OUTPUT_RATE}Hz`)
  })
  ws.on("message", (data, isBinary) => {
    if (state.finished) return
    if (isBinary) {
      const bytes = binaryBytes(data)
      state.audio.push(bytes)
      state.audioBytes += bytes.byteLength
      state.turnFrames += 1
      state.turnBytes += bytes.byteLength
      return
    }
    const bytes = binaryBytes(data)
    const event = parseEvent(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"))
    if (event !== null) onEvent(event, state, startInput, finish)
  })
  ws.on("close", (code, reason) => {
    const why = reason.length > 0 ? ` (${reason.toString("utf8")})` : ""
    finish(1, `connection closed before response.done: code ${code}${why}`)
  })
}

const options = readOptions()
run(options, loadInput(options))

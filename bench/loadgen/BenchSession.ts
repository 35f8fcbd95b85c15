// One simulated client of the load generator: a WebSocket with a JWT, `session.start`, and the bookkeeping of its
// turns (end of speech → first audio, audio bytes against `response.audio.done`) and pings. The generator's single
// slot timer drives it through `tick`; it owns no timer while streaming.
//
// The WebSocket client is the generator's own (WsWire.ts) on a raw TCP socket: a slot costs a session one socket write
// of a frame built at start-up (ping and audio frame together when both are due), and received audio is only counted
// in one shared read buffer, never copied. What it measures and how it reports failures follow `ws`'s client: connect
// errors, `http_<status>` for a refused upgrade, `close_<code>` (1006 without a close frame) for an unexpected close;
// it answers the server's pings and completes close handshakes like `ws`.
import { connect, type Socket } from "node:net"
import { FrameMs, SilenceFrame, SpeechFrames } from "../lib/audio.ts"
import type { LoadgenConfig } from "../lib/loadgenTypes.ts"
import type { Metrics } from "./Metrics.ts"
import {
  CloseNormalFrame,
  clientFrame,
  clientTextFrame,
  type FrameHandler,
  FrameReader,
  handshake,
  Opcode,
  parseResponseHead,
  pingThen
} from "./WsWire.ts"

/** Wire frames of the microphone audio, built once: every session sends these very buffers. */
const SpeechWire = SpeechFrames.map((frame) => clientFrame(Opcode.binary, frame))
const SilenceWire = clientFrame(Opcode.binary, SilenceFrame)
const SessionStartWire = clientTextFrame(JSON.stringify({ type: "session.start", client: { name: "bench" } }))
const CancelWire = clientTextFrame(JSON.stringify({ type: "response.cancel" }))

/** One read buffer for every socket: reads are handled synchronously, one at a time, and nothing keeps the bytes. */
const ReadBuffer = Buffer.allocUnsafe(256 * 1024)

/** `ws`'s close timeout: a socket whose close handshake gets no answer is destroyed after it. */
const CloseTimeoutMs = 30_000

/** Where the WebSocket is: upgrading, open, or closing (a close frame sent or received, or the socket dropped). */
const State = { Connecting: 0, Open: 1, Closing: 2 } as const
type State = (typeof State)[keyof typeof State]

export class BenchSession implements FrameHandler {
  readonly index: number
  private readonly socket: Socket
  private readonly reader: FrameReader
  private readonly metrics: Metrics
  private readonly config: LoadgenConfig
  private readonly openedAt = performance.now()
  private readonly accept: string
  private state: State = State.Connecting
  /** The HTTP response head read so far (latin1), until the upgrade completes. */
  private head = ""
  private closeSent = false
  private closeCode = 1006
  started = false
  closed = false
  leaving = false
  /** Slot at which this session's first turn starts (its phase, so turns are spread over time). */
  private firstSlot = 0
  private framesSent = 0
  private pingSeq = 0
  private readonly pings = new Map<number, number>()
  private endOfSpeechAt: number | undefined
  private endMeasured = false
  private turnBytes = 0
  private gotAudio = false
  private armed = false
  /** Measured turns so far (every `cancelEvery`-th is cancelled), and when the pending cancel was written. */
  private measuredTurns = 0
  private cancelSentAt: number | undefined
  /** This turn was cancelled: its reply audio stops short of `response.audio.done`'s count by design. */
  private cancelledTurn = false
  private readonly speechSlots: number
  private readonly endSlot: number
  private readonly periodSlots: number

  constructor(index: number, token: string, config: LoadgenConfig, metrics: Metrics) {
    this.index = index
    this.config = config
    this.metrics = metrics
    this.reader = new FrameReader(this)
    this.speechSlots = config.speechMs / FrameMs
    this.endSlot = this.speechSlots + config.endpointSilenceMs / FrameMs - 1
    this.periodSlots = config.turnPeriodMs / FrameMs
    const url = new URL(config.url)
    const { request, accept } = handshake(url, { Authorization: `Bearer ${token}` })
    this.accept = accept
    this.socket = connect({
      host: url.hostname.replace(/^\[|\]$/g, ""),
      port: Number(url.port || 80),
      noDelay: true,
      onread: {
        buffer: ReadBuffer,
        callback: (bytes: number, buffer: Uint8Array) => {
          this.onRead(buffer as Buffer, bytes)
          return true
        }
      }
    })
    this.socket.write(request, "latin1")
    this.socket.on("error", () => {
      // `ws` reports socket errors only before the upgrade (as its own 'error'); afterwards the close tells.
      if (this.state === State.Connecting && !this.started) this.metrics.connectErrors++
    })
    this.socket.on("close", () => this.onSocketClose())
  }

  private onRead(buffer: Buffer, bytes: number) {
    if (this.state !== State.Connecting) {
      this.reader.push(buffer, 0, bytes)
      return
    }
    const before = this.head.length
    this.head += buffer.toString("latin1", 0, bytes)
    const end = this.head.indexOf("\r\n\r\n")
    if (end < 0) {
      if (this.head.length > 16384) this.abortHandshake()
      return
    }
    const { status, headers } = parseResponseHead(this.head.slice(0, end))
    this.head = ""
    if (status !== 101) {
      this.metrics.countError(`http_${status}`)
      this.abortHandshake()
      return
    }
    if (headers.upgrade?.toLowerCase() !== "websocket" || headers["sec-websocket-accept"] !== this.accept) {
      this.abortHandshake()
      return
    }
    this.state = State.Open
    this.metrics.connectMs.push(performance.now() - this.openedAt)
    this.socket.write(SessionStartWire)
    const rest = end + 4 - before
    if (rest < bytes) this.reader.push(buffer, rest, bytes)
  }

  /** What `ws` does on a failed handshake: an 'error' (a connect error before `session.started`), then the close. */
  private abortHandshake() {
    if (!this.started) this.metrics.connectErrors++
    this.state = State.Closing
    this.socket.destroy()
  }

  private onSocketClose() {
    this.closed = true
    if (!this.leaving) {
      this.metrics.unexpectedCloses++
      this.metrics.countError(`close_${this.closeCode}`)
    }
  }

  /** Starts the turn cycle at `slot` plus a random phase within one turn period. */
  private begin(slot: number) {
    this.firstSlot = slot + Math.floor(Math.random() * this.periodSlots)
  }

  onText(text: string) {
    const event = JSON.parse(text) as { type: string; bytes?: number; code?: string; id?: number }
    switch (event.type) {
      case "session.started":
        this.started = true
        this.metrics.startedMs.push(performance.now() - this.openedAt)
        this.begin(currentSlot.value)
        return
      case "pong": {
        const sentAt = this.pings.get(event.id ?? -1)
        if (sentAt !== undefined) {
          this.pings.delete(event.id!)
          if (this.metrics.measuring) this.metrics.pongMs.push(performance.now() - sentAt)
        }
        return
      }
      case "response.audio.start":
        this.turnBytes = 0
        // Only a reply announced after the end of speech answers it (audio of an earlier reply may still be arriving).
        this.armed = this.endOfSpeechAt !== undefined
        return
      case "response.audio.done":
        this.metrics.audioDoneBytes = event.bytes ?? 0
        if ((event.bytes ?? 0) > this.turnBytes && this.endMeasured && !this.cancelledTurn) {
          this.metrics.lostBytes += (event.bytes ?? 0) - this.turnBytes
          this.metrics.lostTurns++
        }
        return
      case "response.done": {
        if (!this.endMeasured) return
        this.metrics.turnsDone++
        const latency = (event as { latency?: Record<string, number | null> }).latency ?? {}
        for (const [stage, ms] of Object.entries(latency)) {
          if (typeof ms !== "number") continue
          const list = this.metrics.stages[stage] ?? []
          list.push(ms)
          this.metrics.stages[stage] = list
        }
        return
      }
      case "response.cancelled":
        if (this.endMeasured) this.metrics.turnsCancelled++
        if (this.cancelSentAt !== undefined) {
          this.metrics.cancelMs.push(performance.now() - this.cancelSentAt)
          this.cancelSentAt = undefined
        }
        return
      case "error":
        this.metrics.countError(event.code ?? "unknown")
        return
    }
  }

  /** A whole binary (reply audio) message: only its size and, for the first of a turn, its time matter. */
  onBinary(bytes: number) {
    this.turnBytes += bytes
    if (this.endOfSpeechAt !== undefined && this.armed) {
      if (this.config.record || (!this.gotAudio && this.endMeasured)) {
        const now = performance.now()
        if (this.config.record) this.metrics.recorded.push([now - this.endOfSpeechAt, bytes])
        if (!this.gotAudio && this.endMeasured) {
          this.metrics.firstAudioMs.push(now - this.endOfSpeechAt)
          this.cancelIfDue()
        }
      }
      this.gotAudio = true
    }
  }

  /** A barge-in on every `cancelEvery`-th measured turn, as its first audio arrives; timed from the write. */
  private cancelIfDue() {
    const every = this.config.cancelEvery ?? 0
    if (every <= 0 || ++this.measuredTurns % every !== 0 || this.cancelSentAt !== undefined) return
    this.cancelledTurn = true
    this.metrics.cancelsSent++
    this.socket.write(CancelWire)
    this.cancelSentAt = performance.now()
  }

  /** `ws` answers pings with a pong carrying the same payload. */
  onPing(payload: Buffer) {
    if (this.state === State.Open) this.socket.write(clientFrame(Opcode.pong, payload))
  }

  /** The server's close frame: answer it (unless this side began the handshake) and end the socket, as `ws`. */
  onClose(payload: Buffer) {
    this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005
    if (!this.closeSent) {
      this.closeSent = true
      this.socket.write(clientFrame(Opcode.close, payload))
    }
    this.state = State.Closing
    this.socket.end()
  }

  /** `ws` emits an 'error' (a connect error before `session.started`) and the close has no close frame (1006). */
  onProtocolError(_reason: string) {
    if (!this.started) this.metrics.connectErrors++
    this.state = State.Closing
    this.socket.destroy()
  }

  /** Sends this slot's frame (speech, silence) and, every 500 ms, a ping before it: one write. */
  tick(slot: number) {
    if (!this.started || this.closed || this.leaving || this.state !== State.Open) return
    const position = slot - this.firstSlot
    const cycle = position < 0 ? -1 : position % this.periodSlots
    if (cycle === 0) {
      if (this.endOfSpeechAt !== undefined && !this.gotAudio && this.endMeasured) this.metrics.turnsMissingAudio++
      this.endOfSpeechAt = undefined
    }
    const frame = cycle >= 0 && cycle < this.speechSlots ? SpeechWire[cycle % SpeechWire.length]! : SilenceWire
    if ((slot + this.index) % (500 / FrameMs) === 0) {
      // Timed when it leaves (not at the slot's start): later sessions of a slot go out later, and that delay is
      // the generator's, not the target's.
      this.pings.set(++this.pingSeq, performance.now())
      this.socket.write(pingThen(this.pingSeq, frame))
    } else this.socket.write(frame)
    this.framesSent++
    this.metrics.framesSent++
    if (this.metrics.measuring) this.metrics.framesSentInWindow++
    if (cycle === this.endSlot && this.speechSlots > 0) {
      // This frame completes the endpointing silence: the server's STT sees the end of speech on it. (With no
      // speech at all, BENCH_SPEECH_MS=0, there is no turn to wait for.)
      this.endOfSpeechAt = performance.now()
      this.armed = false
      this.cancelledTurn = false
      this.endMeasured = this.metrics.measuring
      this.gotAudio = false
    }
  }

  get sent() {
    return this.framesSent
  }

  /** Pings sent over a second ago and never answered. */
  unanswered(now: number) {
    let count = 0
    for (const sentAt of this.pings.values()) if (now - sentAt > 1000) count++
    return count
  }

  /** A close handshake (status 1000) or, unclean, dropping the socket (`ws`'s `close(1000)` / `terminate()`). */
  leave(clean: boolean) {
    this.leaving = true
    if (this.closed) return
    if (this.state === State.Connecting) {
      this.abortHandshake() // `ws` closing before the upgrade: an aborted handshake
      return
    }
    if (!clean || this.state === State.Closing) {
      if (!clean) this.socket.destroy()
      return
    }
    this.state = State.Closing
    this.closeSent = true
    this.socket.write(CloseNormalFrame)
    setTimeout(() => this.socket.destroy(), CloseTimeoutMs).unref()
  }
}

/** The slot counter of the generator's one timer, read by sessions when they start. */
export const currentSlot = { value: 0 }

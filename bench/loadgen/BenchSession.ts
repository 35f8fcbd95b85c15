// One simulated client of the load generator: a WebSocket with a JWT, `session.start`, and the bookkeeping of its
// turns (end of speech → first audio, audio bytes against `response.audio.done`) and pings. The generator's single
// slot timer drives it through `tick`; it owns no timer.
import WebSocket from "ws"
import { FrameMs, SilenceFrame, SpeechFrames } from "../lib/audio.ts"
import type { LoadgenConfig } from "../lib/loadgenTypes.ts"
import type { Metrics } from "./Metrics.ts"

const zeroMask = (mask: Buffer) => {
  mask.fill(0) // a zero mask lets `ws` skip masking: the generator must stay cheap
}

export class BenchSession {
  readonly ws: WebSocket
  readonly index: number
  private readonly metrics: Metrics
  private readonly config: LoadgenConfig
  private readonly openedAt = performance.now()
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

  constructor(index: number, token: string, config: LoadgenConfig, metrics: Metrics) {
    this.index = index
    this.config = config
    this.metrics = metrics
    this.ws = new WebSocket(config.url, {
      headers: { authorization: `Bearer ${token}` },
      perMessageDeflate: false,
      skipUTF8Validation: true,
      generateMask: zeroMask
    })
    this.ws.on("open", () => {
      metrics.connectMs.push(performance.now() - this.openedAt)
      this.ws.send(JSON.stringify({ type: "session.start", client: { name: "bench" } }))
    })
    this.ws.on("message", (data, isBinary) => (isBinary ? this.onAudio(data as Buffer) : this.onEvent(String(data))))
    this.ws.on("error", () => {
      if (!this.started) metrics.connectErrors++
    })
    this.ws.on("unexpected-response", (_req, res) => {
      metrics.countError(`http_${res.statusCode}`)
      this.ws.terminate()
    })
    this.ws.on("close", (code) => {
      if (!this.leaving) {
        metrics.unexpectedCloses++
        metrics.countError(`close_${code}`)
      }
      this.closed = true
    })
  }

  /** Starts the turn cycle at `slot` plus a random phase within one turn period. */
  private begin(slot: number) {
    this.firstSlot = slot + Math.floor(Math.random() * (this.config.turnPeriodMs / FrameMs))
  }

  private onEvent(text: string) {
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
        if ((event.bytes ?? 0) > this.turnBytes && this.endMeasured) {
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
        return
      case "error":
        this.metrics.countError(event.code ?? "unknown")
        return
    }
  }

  private onAudio(data: Buffer) {
    const now = performance.now()
    this.turnBytes += data.length
    if (this.endOfSpeechAt !== undefined && this.armed) {
      if (this.config.record) this.metrics.recorded.push([now - this.endOfSpeechAt, data.length])
      if (!this.gotAudio && this.endMeasured) this.metrics.firstAudioMs.push(now - this.endOfSpeechAt)
      this.gotAudio = true
    }
  }

  /** Sends this slot's frame (speech, silence) and, every 500 ms, a ping. */
  tick(slot: number, now: number) {
    if (!this.started || this.closed || this.leaving) return
    if ((slot + this.index) % (500 / FrameMs) === 0) {
      this.pings.set(++this.pingSeq, now)
      this.ws.send(JSON.stringify({ type: "ping", id: this.pingSeq }))
    }
    const speechSlots = this.config.speechMs / FrameMs
    const silenceSlots = this.config.endpointSilenceMs / FrameMs
    const position = slot - this.firstSlot
    const cycle = position < 0 ? -1 : position % (this.config.turnPeriodMs / FrameMs)
    if (cycle === 0) {
      if (this.endOfSpeechAt !== undefined && !this.gotAudio && this.endMeasured) this.metrics.turnsMissingAudio++
      this.endOfSpeechAt = undefined
    }
    const speaking = cycle >= 0 && cycle < speechSlots
    this.ws.send(speaking ? SpeechFrames[cycle % SpeechFrames.length]! : SilenceFrame)
    this.framesSent++
    this.metrics.framesSent++
    if (this.metrics.measuring) this.metrics.framesSentInWindow++
    if (cycle === speechSlots + silenceSlots - 1) {
      // This frame completes the endpointing silence: the server's STT sees the end of speech on it.
      this.endOfSpeechAt = performance.now()
      this.armed = false
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

  leave(clean: boolean) {
    this.leaving = true
    if (clean) this.ws.close(1000)
    else this.ws.terminate()
  }
}

/** The slot counter of the generator's one timer, read by sessions when they start. */
export const currentSlot = { value: 0 }

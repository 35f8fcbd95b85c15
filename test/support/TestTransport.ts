// An in-memory Transport: the test plays the client, pushing frames in and reading what the session sent.
import { Effect, Latch, Schema } from "effect"
import { ServerEvent } from "../../src/domain/Protocol.ts"
import type { Transport, TransportEnd, TransportListener } from "../../src/session/Transport.ts"

const decodeEvent = Schema.decodeUnknownSync(ServerEvent)

export interface TestClient {
  readonly transport: Transport
  readonly send: (message: object) => Effect.Effect<void>
  readonly sendRaw: (frame: string | Uint8Array) => Effect.Effect<void>
  /** The client goes away (a clean close by default). */
  readonly disconnect: (end?: TransportEnd) => Effect.Effect<void>
  /** Frames arriving together, as from one read of the socket: no fiber runs between them. */
  readonly sendBurst: (frames: ReadonlyArray<string | Uint8Array | object>) => Effect.Effect<void>
  /** How many times the session asked the transport to stop reading (backpressure on queued frames), and to resume. */
  readonly readPauses: () => number
  readonly readResumes: () => number
  /** Every JSON event the session sent so far, validated against the protocol schema. */
  readonly events: () => ReadonlyArray<ServerEvent>
  /** Total bytes of binary (audio) frames received. */
  readonly audioBytes: () => number
  readonly closed: () => { readonly code: number; readonly reason: string } | undefined
  /** A client that stops reading: the session's writes wait until `resume`. */
  readonly pause: Effect.Effect<void>
  readonly resume: Effect.Effect<void>
}

/**
 * Lets every fiber woken by a client frame run until it suspends. TestClock.adjust only waits for fibers woken by
 * the sleeps it fires; a frame pushed by the test wakes a chain (reader → STT → session) it does not track.
 */
export const settle = Effect.repeat(Effect.yieldNow, { times: 100 })

export const makeTestClient = Effect.gen(function* () {
  // Frames sent before the session listens wait here, as a socket's do.
  let early: Array<string | Uint8Array> = []
  let earlyEnd: TransportEnd | undefined
  let listener: TransportListener | undefined
  let ended = false
  const deliver = (frame: string | Uint8Array) =>
    Effect.sync(() => {
      if (ended) return
      if (listener === undefined) early.push(frame)
      else listener.frame(frame)
    }).pipe(Effect.andThen(settle))
  const endWith = (end: TransportEnd) =>
    Effect.sync(() => {
      if (ended) return
      ended = true
      if (listener === undefined) earlyEnd = end
      else listener.end(end)
    }).pipe(Effect.andThen(settle))
  let pausedReads = 0
  let resumedReads = 0
  const send = (frame: string | Uint8Array) =>
    reading.whenOpen(
      Effect.sync(() => {
        if (closed !== undefined) throw new Error("send after close")
        if (typeof frame === "string") events.push(decodeEvent(JSON.parse(frame)))
        else audio += frame.byteLength
      })
    )
  const events: Array<ServerEvent> = []
  let audio = 0
  let closed: { code: number; reason: string } | undefined
  const reading = yield* Latch.make(true)
  const transport: Transport = {
    listen: (next) =>
      Effect.sync(() => {
        listener = next
        const frames = early
        early = []
        for (const frame of frames) next.frame(frame)
        if (earlyEnd !== undefined) next.end(earlyEnd)
      }),
    pause: () => {
      pausedReads++
    },
    resume: () => {
      resumedReads++
    },
    sendAll: (frames) => Effect.forEach(frames, send, { discard: true }),
    close: (code, reason) =>
      Effect.sync(() => {
        closed = { code, reason }
      })
  }
  const client: TestClient = {
    transport,
    send: (message) => deliver(JSON.stringify(message)),
    sendRaw: deliver,
    disconnect: (end) => endWith(end ?? { _tag: "ClosedByPeer", code: 1000 }),
    sendBurst: (frames) =>
      Effect.sync(() => {
        for (const frame of frames) {
          const data = typeof frame === "string" || frame instanceof Uint8Array ? frame : JSON.stringify(frame)
          if (ended) return
          if (listener === undefined) early.push(data)
          else listener.frame(data)
        }
      }).pipe(Effect.andThen(settle)),
    readPauses: () => pausedReads,
    readResumes: () => resumedReads,
    events: () => events,
    audioBytes: () => audio,
    closed: () => closed,
    pause: reading.close,
    resume: reading.open.pipe(Effect.andThen(settle))
  }
  return client
})

/** 20 ms of PCM16 at 16 kHz: a loud tone (speech for the mock STT) or silence. */
export const frame20ms = (loud: boolean, sampleRate = 16000): Uint8Array => {
  const samples = (sampleRate / 1000) * 20
  const out = new Uint8Array(samples * 2)
  const view = new DataView(out.buffer)
  if (loud) for (let i = 0; i < samples; i++) view.setInt16(i * 2, Math.round(8000 * Math.sin(i / 3)), true)
  return out
}

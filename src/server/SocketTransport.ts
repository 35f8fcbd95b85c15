// Adapts an upgraded WebSocket to the session's Transport. The Effect Socket performs the handshake and owns the
// connection's lifetime (closing it with the scope); frames are then read from the `ws` socket underneath, straight
// into the session's listener, because the Effect reader hands each frame to a fiber (docs/decisions.md 30).

import type { Duplex } from "node:stream"
import { Effect } from "effect"
import type { Socket } from "effect/socket/Socket"
import type WebSocket from "ws"
import type { Transport, TransportEnd, TransportListener } from "../session/Transport.ts"

/** `ws` reports an oversize frame as an error carrying this code, and closes the socket with 1009 itself. */
const TooLargeCode = "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH"

const endOfError = (error: unknown): TransportEnd =>
  (error as { readonly code?: unknown } | undefined)?.code === TooLargeCode
    ? { _tag: "FrameTooLarge" }
    : { _tag: "Broken", detail: error instanceof Error ? error.message.slice(0, 120) : "socket error" }

/**
 * Replaces the Effect reader's listeners with the transport's, in the same run as the handshake, so no frame can
 * fall between them. Frames that arrive before the session listens are kept (in order) and handed over on `listen`.
 */
const takeOver = (ws: WebSocket) => {
  ws.removeAllListeners("message")
  ws.binaryType = "nodebuffer"
  let listener: TransportListener | undefined
  let early: Array<string | Uint8Array> = []
  let ending: TransportEnd | undefined
  let ended = false
  const end = (reason: TransportEnd) => {
    if (ending !== undefined) return
    ending = reason
    if (listener !== undefined && !ended) {
      ended = true
      listener.end(reason)
    }
  }
  const onMessage = (data: Buffer, isBinary: boolean) => {
    if (ending !== undefined) return
    const frame = isBinary ? data : data.toString("utf8")
    if (listener === undefined) early.push(frame)
    else listener.frame(frame)
  }
  const onError = (error: unknown) => end(endOfError(error))
  const onClose = (code: number) => end({ _tag: "ClosedByPeer", code })
  ws.on("message", onMessage)
  ws.on("error", onError)
  ws.on("close", onClose)
  if (ws.readyState >= 2) end({ _tag: "ClosedByPeer", code: 1006 })
  const attach = (next: TransportListener) => {
    listener = next
    const frames = early
    early = []
    for (const frame of frames) next.frame(frame)
    if (ending !== undefined && !ended) {
      ended = true
      next.end(ending)
    }
  }
  const detach = () => {
    listener = undefined
    ws.off("message", onMessage)
    ws.off("error", onError)
    ws.off("close", onClose)
  }
  return { attach, detach }
}

/**
 * `socket` is the upgrade's Effect Socket, `webSocket` finds the `ws` socket under it once the handshake is done.
 * The transport is usable for the current scope; closing the scope closes the connection.
 */
export const socketTransport = Effect.fnUntraced(function* (socket: Socket, webSocket: () => WebSocket | undefined) {
  yield* socket.reader
  const ws = webSocket()
  if (ws === undefined) return yield* Effect.die(new Error("the upgraded connection has no ws socket"))
  const reading = takeOver(ws)
  // Frames sent while the current task runs leave together when it ends (the socket is corked until the next tick),
  // so the writes of a burst cost one system call instead of one each.
  const connection = (ws as unknown as { readonly _socket?: Duplex })._socket
  let holding = false
  const release = () => {
    holding = false
    connection?.uncork()
  }
  const holdWrites = () => {
    if (holding || connection === undefined) return
    holding = true
    connection.cork()
    process.nextTick(release)
  }
  yield* Effect.addFinalizer(() => Effect.sync(reading.detach))
  const sendNow = (frames: ReadonlyArray<string | Uint8Array>) => {
    holdWrites()
    try {
      for (const frame of frames) ws.send(frame)
    } catch {
      // closing already: the frames have nowhere to go
    }
  }
  const transport: Transport = {
    listen: (listener) => Effect.sync(() => reading.attach(listener)),
    pause: () => ws.pause(),
    resume: () => ws.resume(),
    sendAll: (frames) => Effect.sync(() => sendNow(frames)),
    sendNow,
    close: (code, reason) =>
      Effect.sync(() => {
        try {
          ws.close(code, reason.slice(0, 120))
        } catch {
          // closed already
        }
      }),
    pendingBytes: () => ws.bufferedAmount
  }
  return transport
})

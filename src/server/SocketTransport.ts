// Adapts an upgraded Effect Socket (a `ws` WebSocket underneath) to the session's Transport.
import { Effect, Stream } from "effect"
import { CloseEvent, type Socket, type SocketError } from "effect/socket/Socket"
import type { Transport, TransportEnd } from "../session/Transport.ts"

/** `ws` reports an oversize frame as an error carrying this code, and closes the socket with 1009 itself. */
const TooLargeCode = "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH"

const toEnd = (error: SocketError): TransportEnd => {
  const reason = error.reason
  if (reason._tag === "SocketCloseError") return { _tag: "ClosedByPeer", code: reason.code }
  const cause = (reason as { readonly cause?: unknown }).cause
  const code = cause as { readonly error?: { readonly code?: unknown }; readonly code?: unknown } | undefined
  if (code?.code === TooLargeCode || code?.error?.code === TooLargeCode) return { _tag: "FrameTooLarge" }
  return { _tag: "Broken", detail: reason._tag }
}

/** `pending`: bytes the underlying `ws` socket still has to send (its bufferedAmount), when it can be reached. */
export const socketTransport = Effect.fnUntraced(function* (socket: Socket, pending?: () => number) {
  const reader = yield* socket.reader
  const writer = yield* socket.writer
  const transport: Transport = {
    incoming: Stream.fromEffectRepeat(reader.pull).pipe(Stream.flattenIterable, Stream.mapError(toEnd)),
    send: (frame) => Effect.ignore(writer.write(frame)),
    close: (code, reason) => Effect.ignore(writer.write(new CloseEvent(code, reason.slice(0, 120)))),
    ...(pending === undefined ? {} : { pendingBytes: pending })
  }
  return transport
})

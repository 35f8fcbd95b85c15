// The `ws` WebSocket class the server uses (ws's `WebSocket` server option): it pings every peer and cuts one that
// missed the previous pong (dead-peer detection), and registers each socket by its TCP connection, so the session
// can read `bufferedAmount` (bytes waiting to be sent), which the Effect Socket does not expose.
import type { Duplex } from "node:stream"
import WebSocket from "ws"

const byConnection = new WeakMap<object, WebSocket>()

/** The server-side `ws` WebSocket running over `connection` (the upgraded request's socket), if any. */
export const webSocketOf = (connection: object | undefined): WebSocket | undefined =>
  connection === undefined ? undefined : byConnection.get(connection)

type SetSocket = (this: WebSocket, socket: Duplex, head: Buffer, options: unknown) => void
const setSocket = (WebSocket.prototype as unknown as { readonly setSocket: SetSocket }).setSocket

const heartbeat = (ws: WebSocket, intervalMs: number) => {
  let alive = true
  ws.on("pong", () => {
    alive = true
  })
  const timer = setInterval(() => {
    if (!alive) {
      ws.terminate()
      return
    }
    alive = false
    try {
      ws.ping()
    } catch {
      // closing already
    }
  }, intervalMs)
  timer.unref()
  ws.once("close", () => clearInterval(timer))
}

/** A WebSocket class for `ws`'s server: pings every `pingIntervalMs` (0 = no pings). */
export const guardedWebSocket = (pingIntervalMs: number): typeof WebSocket =>
  class GuardedWebSocket extends WebSocket {
    setSocket(socket: Duplex, head: Buffer, options: unknown) {
      setSocket.call(this, socket, head, options)
      byConnection.set(socket, this)
      if (pingIntervalMs > 0) heartbeat(this, pingIntervalMs)
    }
  }

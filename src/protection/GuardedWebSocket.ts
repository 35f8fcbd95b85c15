// The `ws` WebSocket class the server uses (ws's `WebSocket` server option): it pings every peer and cuts one that
// missed the previous pong (dead-peer detection, one shared timer per interval), and registers each socket by its
// TCP connection, so the session can reach the `ws` socket under the Effect Socket (SocketTransport.ts).
import type { Duplex } from "node:stream"
import WebSocket from "ws"

const byConnection = new WeakMap<object, WebSocket>()

/** The server-side `ws` WebSocket running over `connection` (the upgraded request's socket), if any. */
export const webSocketOf = (connection: object | undefined): WebSocket | undefined =>
  connection === undefined ? undefined : byConnection.get(connection)

type SetSocket = (this: WebSocket, socket: Duplex, head: Buffer, options: unknown) => void
const setSocket = (WebSocket.prototype as unknown as { readonly setSocket: SetSocket }).setSocket

interface Watched {
  readonly ws: WebSocket
  alive: boolean
}

/** Every socket with the same ping interval shares one timer (not one per socket). */
const watchedBy = new Map<number, { readonly sockets: Set<Watched>; readonly timer: ReturnType<typeof setInterval> }>()

const beat = (sockets: Set<Watched>) => {
  for (const watched of sockets) {
    if (!watched.alive) {
      watched.ws.terminate()
      continue
    }
    watched.alive = false
    try {
      watched.ws.ping()
    } catch {
      // closing already
    }
  }
}

/** Pings `ws` every `intervalMs` (on the shared timer) and cuts it once it missed the previous pong. */
const heartbeat = (ws: WebSocket, intervalMs: number) => {
  let group = watchedBy.get(intervalMs)
  if (group === undefined) {
    const sockets = new Set<Watched>()
    const timer = setInterval(() => beat(sockets), intervalMs)
    timer.unref()
    group = { sockets, timer }
    watchedBy.set(intervalMs, group)
  }
  const { sockets } = group
  const watched: Watched = { ws, alive: true }
  sockets.add(watched)
  ws.on("pong", () => {
    watched.alive = true
  })
  ws.once("close", () => {
    sockets.delete(watched)
    if (sockets.size > 0) return
    clearInterval(watchedBy.get(intervalMs)?.timer)
    watchedBy.delete(intervalMs)
  })
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

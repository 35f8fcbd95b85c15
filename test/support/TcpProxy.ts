// A loopback TCP proxy that tests can cut and restore, to take a real database away mid-conversation.
import { connect, createServer, type Server, type Socket } from "node:net"

export interface TcpProxy {
  readonly port: number
  /** Drops every open connection and refuses new ones until `restore`. */
  readonly cut: () => void
  readonly restore: () => void
  readonly close: () => Promise<void>
}

export const startTcpProxy = (targetHost: string, targetPort: number): Promise<TcpProxy> =>
  new Promise((resolve, reject) => {
    const open = new Set<Socket>()
    let down = false
    const server: Server = createServer((client) => {
      if (down) {
        client.destroy()
        return
      }
      const upstream = connect(targetPort, targetHost)
      open.add(client)
      open.add(upstream)
      const drop = () => {
        client.destroy()
        upstream.destroy()
        open.delete(client)
        open.delete(upstream)
      }
      client.on("error", drop).on("close", drop)
      upstream.on("error", drop).on("close", drop)
      client.pipe(upstream)
      upstream.pipe(client)
    })
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      if (address === null || typeof address === "string") return reject(new Error("no port"))
      resolve({
        port: address.port,
        cut: () => {
          down = true
          for (const socket of open) socket.destroy()
          open.clear()
        },
        restore: () => {
          down = false
        },
        close: () =>
          new Promise((done) => {
            for (const socket of open) socket.destroy()
            server.close(() => done())
          })
      })
    })
  })

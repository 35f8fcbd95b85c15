// Finds the Redis the protection tests run against: TEST_REDIS_URL, else 127.0.0.1:6379 if it answers. Tests that
// need it are skipped with a visible reason otherwise.
import { connect } from "node:net"

const answers = (host: string, port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, host)
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(1000, () => done(false))
    socket.once("error", () => done(false))
    socket.once("connect", () => {
      socket.write("PING\r\n")
      socket.once("data", (data) => done(data.toString().startsWith("+PONG")))
    })
  })

export const findRedis = async (): Promise<{ url: string; host: string; port: number } | undefined> => {
  const configured = process.env.TEST_REDIS_URL
  const url = configured !== undefined && configured.length > 0 ? configured : "redis://127.0.0.1:6379"
  const parsed = new URL(url)
  const host = parsed.hostname
  const port = Number(parsed.port || 6379)
  if (await answers(host, port)) return { url, host, port }
  console.warn(`protection tests: no Redis at ${host}:${port} (set TEST_REDIS_URL); Redis cases are SKIPPED`)
  return undefined
}

/** A key prefix no other test run shares. */
export const uniquePrefix = () => `vs-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}:`

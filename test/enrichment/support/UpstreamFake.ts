// The machinery shared by the enrichment fakes (test/fakes/CoinGeckoFake.ts, BinanceFake.ts, RssFake.ts): a real HTTP
// server on 127.0.0.1 (port 0 = any free port) that records every request (path, query, User-Agent, headers) and
// answers each one with a scripted step, or with the fake's normal answer when nothing is scripted.
//
//   steps: ok (normal answer, optionally after delayMs) · status (e.g. 429 + retry-after, 500) · body (any body:
//          bad JSON, missing fields, broken XML) · hang (never answers) · drop (cuts the connection)
//   script(...steps)            used in order by the next requests, whatever their path
//   scriptPath(path, ...steps)  used first by requests to that path
//   always(step)                answers every request not otherwise scripted (undefined: back to normal)
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

export type UpstreamStep =
  | { readonly kind: "ok"; readonly delayMs?: number }
  | {
      readonly kind: "status"
      readonly status: number
      readonly headers?: Readonly<Record<string, string>>
      readonly body?: string
    }
  | { readonly kind: "body"; readonly body: string; readonly status?: number; readonly contentType?: string }
  | { readonly kind: "hang" }
  | { readonly kind: "drop" }

export interface RecordedRequest {
  readonly method: string
  /** The path without the query, e.g. "/api/v3/simple/price". */
  readonly path: string
  readonly query: Readonly<Record<string, string>>
  readonly userAgent: string | undefined
  readonly headers: IncomingHttpHeaders
  /** The step that answered it. */
  readonly step: UpstreamStep["kind"]
}

/** A fake's normal answer to a request. */
export interface NormalAnswer {
  readonly status: number
  readonly contentType: string
  readonly body: string
}

export interface UpstreamFake {
  /** Base URL, e.g. http://127.0.0.1:41234 (no trailing slash). */
  readonly url: string
  readonly port: number
  /** Every request received, in order. */
  readonly requests: ReadonlyArray<RecordedRequest>
  readonly script: (...steps: ReadonlyArray<UpstreamStep>) => void
  readonly scriptPath: (path: string, ...steps: ReadonlyArray<UpstreamStep>) => void
  readonly always: (step: UpstreamStep | undefined) => void
  /** Forgets scripted steps, the `always` step and recorded requests. */
  readonly reset: () => void
  /** Stops listening and cuts open (hanging) connections. */
  readonly close: () => Promise<void>
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

export const startUpstreamFake = async (
  answer: (path: string, query: Readonly<Record<string, string>>) => NormalAnswer,
  port = 0
): Promise<UpstreamFake> => {
  const requests: Array<RecordedRequest> = []
  const anyPath: Array<UpstreamStep> = []
  const byPath = new Map<string, Array<UpstreamStep>>()
  let standing: UpstreamStep | undefined

  const next = (path: string): UpstreamStep =>
    byPath.get(path)?.shift() ?? anyPath.shift() ?? standing ?? { kind: "ok" }

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://fake.invalid")
    const query = Object.fromEntries(url.searchParams.entries())
    const step = next(url.pathname)
    requests.push({
      method: req.method ?? "GET",
      path: url.pathname,
      query,
      userAgent: req.headers["user-agent"],
      headers: req.headers,
      step: step.kind
    })
    switch (step.kind) {
      case "hang":
        return // left open until the client gives up or the fake closes
      case "drop":
        res.socket?.destroy()
        return
      case "status":
        res.writeHead(step.status, { "content-type": "application/json", ...step.headers })
        res.end(step.body ?? JSON.stringify({ error: `status ${step.status}` }))
        return
      case "body":
        res.writeHead(step.status ?? 200, { "content-type": step.contentType ?? "application/json" })
        res.end(step.body)
        return
      case "ok": {
        if (step.delayMs !== undefined) await sleep(step.delayMs)
        if (res.destroyed) return
        const normal = answer(url.pathname, query)
        res.writeHead(normal.status, { "content-type": normal.contentType })
        res.end(normal.body)
        return
      }
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end()
      else res.destroy()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(port, "127.0.0.1", () => resolve())
  })
  const bound = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    requests,
    script: (...steps) => {
      anyPath.push(...steps)
    },
    scriptPath: (path, ...steps) => {
      byPath.set(path, [...(byPath.get(path) ?? []), ...steps])
    },
    always: (step) => {
      standing = step
    },
    reset: () => {
      anyPath.length = 0
      byPath.clear()
      standing = undefined
      requests.length = 0
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

export const json = (body: unknown, status = 200): NormalAnswer => ({
  status,
  contentType: "application/json",
  body: JSON.stringify(body)
})

// A local OTLP/HTTP collector for tests: a plain HTTP server on 127.0.0.1 that keeps every body POSTed to
// /v1/traces and /v1/metrics (OTLP JSON) with its headers, and flattens the spans for assertions.
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"

export interface CollectedSpan {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId: string | undefined
  readonly name: string
  readonly kind: number
  readonly attributes: Readonly<Record<string, unknown>>
  readonly status: { readonly code: number; readonly message?: string }
  readonly resource: Readonly<Record<string, unknown>>
}

interface OtlpKeyValue {
  readonly key: string
  readonly value: Record<string, unknown>
}

const attributeValue = (value: Record<string, unknown>): unknown => {
  if ("stringValue" in value) return value.stringValue
  if ("boolValue" in value) return value.boolValue
  if ("intValue" in value) return Number(value.intValue)
  if ("doubleValue" in value) return value.doubleValue
  return value
}

export const toRecord = (attributes: ReadonlyArray<OtlpKeyValue> | undefined) =>
  Object.fromEntries((attributes ?? []).map((a) => [a.key, attributeValue(a.value)]))

export const startCollector = async () => {
  const bodies = { traces: [] as Array<string>, metrics: [] as Array<string>, other: [] as Array<string> }
  /** Request headers of every export, in arrival order. */
  const headers: Array<Readonly<Record<string, string | Array<string> | undefined>>> = []
  const server = createServer((request, response) => {
    let body = ""
    request.on("data", (chunk: Buffer) => {
      body += chunk.toString("utf8")
    })
    request.on("end", () => {
      headers.push(request.headers)
      if (request.url === "/v1/traces") bodies.traces.push(body)
      else if (request.url === "/v1/metrics") bodies.metrics.push(body)
      else bodies.other.push(`${request.method} ${request.url}`)
      response.writeHead(200, { "content-type": "application/json" })
      response.end("{}")
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    bodies,
    headers,
    /** Every span received so far, with its resource attributes. */
    spans: (): Array<CollectedSpan> =>
      bodies.traces.flatMap((raw) =>
        (JSON.parse(raw).resourceSpans as Array<Record<string, never>>).flatMap((rs) => {
          const resource = toRecord((rs.resource as { attributes?: Array<OtlpKeyValue> }).attributes)
          return (rs.scopeSpans as Array<{ spans: Array<Record<string, never>> }>).flatMap((ss) =>
            ss.spans.map(
              (span): CollectedSpan => ({
                traceId: span.traceId,
                spanId: span.spanId,
                parentSpanId: span.parentSpanId,
                name: span.name,
                kind: span.kind,
                attributes: toRecord(span.attributes),
                status: span.status,
                resource
              })
            )
          )
        })
      ),
    /** Names of the metrics received so far. */
    metricNames: (): Set<string> =>
      new Set(
        bodies.metrics.flatMap((raw) =>
          (
            JSON.parse(raw).resourceMetrics as Array<{ scopeMetrics: Array<{ metrics: Array<{ name: string }> }> }>
          ).flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics.map((m) => m.name)))
        )
      ),
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

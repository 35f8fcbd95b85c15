// What Effect's HTTP server tracing may record. Each request is a `server` span named by its route, never its URL;
// the `token` query parameter (a JWT on /v1/stream) is redacted from url.full and url.query, and the
// Sec-WebSocket-Protocol header (`bearer.<jwt>`) is on the redacted list should header capture ever be switched on
// (it is off: Effect records no headers by default). Probes and scrapes (/healthz, /readyz, /metrics) are not traced.
import { Layer } from "effect"
import { Headers, HttpMiddleware, type HttpServerRequest, UrlParams } from "effect/http"
import { StreamPath } from "../server/StreamRoute.ts"

/** Query parameters that may carry credentials. */
export const RedactedQueryNames = ["token", "access_token", "jwt"]
/** Headers that may carry credentials, beyond Effect's defaults (authorization, cookie, …). */
export const RedactedHeaderNames = ["sec-websocket-protocol", "proxy-authorization"]
export const UntracedPaths = ["/healthz", "/readyz", "/metrics"]

const pathOf = (url: string) => url.split(/[?#]/, 1)[0] ?? url

/** The route template of a request: a low-cardinality span name with no ids in it. */
export const routeOf = (url: string) => {
  const path = pathOf(url)
  if (path === StreamPath || path === "/v1/sessions" || UntracedPaths.includes(path)) return path
  if (/^\/v1\/sessions\/[^/]+$/.test(path)) return "/v1/sessions/:id"
  return "unmatched"
}

export const HttpTracingLive = Layer.mergeAll(
  Layer.succeed(
    HttpMiddleware.SpanNameGenerator,
    (request: HttpServerRequest.HttpServerRequest) => `${request.method} ${routeOf(request.url)}`
  ),
  Layer.succeed(HttpMiddleware.TracerDisabledWhen, (request: HttpServerRequest.HttpServerRequest) =>
    UntracedPaths.includes(pathOf(request.url))
  ),
  Layer.succeed(UrlParams.CurrentRedactedNames, [
    ...UrlParams.CurrentRedactedNames.defaultValue(),
    ...RedactedQueryNames
  ]),
  Layer.succeed(Headers.CurrentRedactedNames, [...Headers.CurrentRedactedNames.defaultValue(), ...RedactedHeaderNames])
)

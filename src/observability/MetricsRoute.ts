// GET /metrics: every metric in Prometheus text format. With STREAM_METRICS_TOKEN set it wants
// `Authorization: Bearer <token>` (compared in constant time) and answers 401 otherwise. Never logged or traced.
import { createHash, timingSafeEqual } from "node:crypto"
import { Effect, Redacted } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { PrometheusMetrics } from "effect/observability"
import { AppConfig } from "../config/AppConfig.ts"
import { refusal } from "../server/Refusal.ts"
import { GaugeSampler } from "./GaugeSampler.ts"

export const MetricsPath = "/metrics"

const digest = (text: string) => createHash("sha256").update(text, "utf8").digest()

/** True when the header is `Bearer <token>`; digests of equal length make the comparison constant-time. */
export const bearerMatches = (authorization: string | undefined, token: Redacted.Redacted<string>) => {
  const presented = authorization?.match(/^Bearer\s+(\S+)\s*$/i)?.[1] ?? ""
  return timingSafeEqual(digest(presented), digest(Redacted.value(token))) && presented.length > 0
}

export const MetricsRoute = HttpRouter.use(
  Effect.fnUntraced(function* (router) {
    const config = yield* AppConfig
    const sampler = yield* GaugeSampler
    const token = config.observability.metricsToken
    yield* router.add(
      "GET",
      MetricsPath,
      Effect.gen(function* () {
        if (token !== undefined) {
          const request = yield* HttpServerRequest.HttpServerRequest
          if (!bearerMatches(request.headers.authorization, token)) {
            return refusal(401, "unauthorized", "GET /metrics needs Authorization: Bearer <STREAM_METRICS_TOKEN>", {
              "www-authenticate": 'Bearer realm="metrics"'
            })
          }
        }
        yield* sampler.sample
        return HttpServerResponse.text(yield* PrometheusMetrics.format(), {
          contentType: "text/plain; version=0.0.4; charset=utf-8"
        })
      })
    )
  })
)

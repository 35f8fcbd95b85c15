// The read API for apps and support: a user's own sessions, newest first, and one session with its turns.
// JWT-authenticated like /v1/stream; another user's session is indistinguishable from a missing one (404).
import { Effect, Option, Schema } from "effect"
import { HttpMiddleware, HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { AppConfig } from "../config/AppConfig.ts"
import {
  type SessionCursor,
  SessionRepository,
  type SessionRow,
  type TurnRow
} from "../persistence/SessionRepository.ts"
import { extractToken, verifyToken } from "./Auth.ts"
import { refusal } from "./Refusal.ts"

export const MaxPageSize = 100
export const DefaultPageSize = 20

const Uuid = Schema.String.check(Schema.isUUID())

const cursorMessage = "before must be the `next` value of a previous page"

/** `before` is the `next` value of the previous page: "<ISO time>~<session id>", both parts valid. */
const Cursor = Schema.String.check(
  Schema.makeFilter(
    (value) => {
      const [time, id, ...rest] = value.split("~")
      return (
        rest.length === 0 &&
        time !== undefined &&
        /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/.test(time) &&
        !Number.isNaN(Date.parse(time)) &&
        id !== undefined &&
        /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)
      )
    },
    { message: cursorMessage }
  )
)

const ListQuery = Schema.Struct({
  limit: Schema.optionalKey(
    Schema.NumberFromString.check(Schema.isInt(), Schema.isBetween({ minimum: 1, maximum: MaxPageSize }))
  ),
  before: Schema.optionalKey(Cursor)
})

const encodeCursor = (row: SessionRow) => `${row.startedAt.toISOString()}~${row.id}`
const decodeCursor = (cursor: string): SessionCursor => {
  const [time, id] = cursor.split("~") as [string, string]
  return { startedAt: new Date(time), id }
}

const sessionJson = (row: SessionRow) => ({
  id: row.id,
  startedAt: row.startedAt.toISOString(),
  endedAt: row.endedAt?.toISOString() ?? null,
  endReason: row.endReason,
  client: row.clientInfo,
  input: row.inputFormat,
  output: row.outputFormat,
  turns: row.turnCount
})

const turnJson = (turn: TurnRow) => ({
  seq: turn.seq,
  input: turn.inputKind,
  userText: turn.userText,
  assistantText: turn.assistantText,
  interrupted: turn.interrupted,
  errorCode: turn.errorCode,
  latency: turn.latency,
  startedAt: turn.startedAt.toISOString(),
  endedAt: turn.endedAt.toISOString()
})

/** The user id from `Authorization: Bearer`, or the 401 to answer with. */
const authenticate = Effect.gen(function* () {
  const request = yield* HttpServerRequest.HttpServerRequest
  const config = yield* AppConfig
  const token = extractToken({
    authorization: request.headers.authorization,
    subprotocols: undefined,
    queryToken: undefined
  })
  if (token === undefined)
    return yield* Effect.fail(refusal(401, "unauthorized", "Authorization: Bearer <jwt> is required"))
  return yield* verifyToken(token, config.jwtSecret).pipe(
    Effect.mapError((error) => refusal(401, "unauthorized", error.message))
  )
})

/** The schema's complaint on one line, e.g. `Expected a value between 1 and 100 at ["limit"]`. */
const firstIssue = (error: Schema.SchemaError) =>
  String(error.message)
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .slice(0, 2)
    .join(" ")

const listSessions = Effect.gen(function* () {
  const userId = yield* authenticate
  const query = yield* HttpRouter.schemaParams(ListQuery).pipe(
    Effect.mapError((error) => refusal(400, "bad_request", `Invalid query: ${firstIssue(error)}`))
  )
  const repository = yield* SessionRepository
  const limit = query.limit ?? DefaultPageSize
  const rows = yield* repository.listSessions(
    userId,
    limit + 1,
    Option.getOrUndefined(Option.map(Option.fromNullishOr(query.before), decodeCursor))
  )
  const page = rows.slice(0, limit)
  const next = rows.length > limit ? encodeCursor(page.at(-1)!) : null
  return HttpServerResponse.jsonUnsafe({ sessions: page.map(sessionJson), next })
})

const getSession = Effect.gen(function* () {
  const userId = yield* authenticate
  const { id } = yield* HttpRouter.schemaPathParams(Schema.Struct({ id: Uuid })).pipe(
    Effect.mapError(() => refusal(404, "not_found", "No such session"))
  )
  const repository = yield* SessionRepository
  const found = yield* repository.getSession(userId, id)
  if (found === undefined) return refusal(404, "not_found", "No such session")
  return HttpServerResponse.jsonUnsafe({ ...sessionJson(found.session), turns: found.turns.map(turnJson) })
})

/** Refusals travel in the error channel until here; a database failure is a 503, never a crash. */
const respond = <R>(handler: Effect.Effect<HttpServerResponse.HttpServerResponse, unknown, R>) =>
  handler.pipe(
    Effect.catch((error) =>
      HttpServerResponse.isHttpServerResponse(error)
        ? Effect.succeed(error)
        : Effect.as(
            Effect.logWarning("session read failed", { error: String(error) }),
            refusal(503, "store_unavailable", "Session history is unavailable right now; try again shortly")
          )
    )
  )

export const SessionRoutes = HttpRouter.use(
  Effect.fnUntraced(function* (router) {
    const config = yield* AppConfig
    // Browsers on the allowed origins (STREAM_CORS_ORIGIN) may call the API, with a preflight for Authorization.
    const cors = HttpMiddleware.cors({
      allowedOrigins: config.corsOrigins === "*" ? () => true : config.corsOrigins,
      allowedMethods: ["GET"],
      allowedHeaders: ["authorization"],
      maxAge: 600
    })
    const preflight = cors(Effect.succeed(HttpServerResponse.empty({ status: 204 })))
    yield* router.add("GET", "/v1/sessions", cors(respond(listSessions)))
    yield* router.add("GET", "/v1/sessions/:id", cors(respond(getSession)))
    yield* router.add("OPTIONS", "/v1/sessions", preflight)
    yield* router.add("OPTIONS", "/v1/sessions/:id", preflight)
  })
)

// JWT admission: where a client may put its token, and HS256 verification with jose (exp required, sub = user id).
import { webcrypto } from "node:crypto"
import { Clock, Effect, Redacted, Schema } from "effect"
import { errors as JoseErrors, jwtVerify } from "jose"
import { ProtocolName } from "../domain/Protocol.ts"

export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", {
  reason: Schema.Literals(["missing", "malformed", "expired", "not_yet_valid", "bad_signature", "bad_claims"]),
  message: Schema.String
}) {}

/** Browsers cannot set headers on a WebSocket: they send the token as a second subprotocol `bearer.<jwt>`. */
export const BearerProtocolPrefix = "bearer."

export interface TokenSource {
  readonly authorization: string | undefined
  readonly subprotocols: string | undefined
  readonly queryToken: string | undefined
}

/** Finds the token in, by precedence: Authorization: Bearer, the subprotocol pair, the `token` query parameter. */
export const extractToken = (source: TokenSource): string | undefined => {
  const header = source.authorization?.match(/^Bearer\s+(\S+)\s*$/i)?.[1]
  if (header !== undefined) return header
  const protocols = (source.subprotocols ?? "").split(",").map((p) => p.trim())
  if (protocols.includes(ProtocolName)) {
    const bearer = protocols.find((p) => p.startsWith(BearerProtocolPrefix))
    if (bearer !== undefined && bearer.length > BearerProtocolPrefix.length)
      return bearer.slice(BearerProtocolPrefix.length)
  }
  return source.queryToken && source.queryToken.length > 0 ? source.queryToken : undefined
}

const classify = (error: unknown): Unauthorized => {
  if (error instanceof JoseErrors.JWTExpired)
    return new Unauthorized({ reason: "expired", message: "The token has expired" })
  if (error instanceof JoseErrors.JWTClaimValidationFailed) {
    return error.claim === "nbf"
      ? new Unauthorized({ reason: "not_yet_valid", message: "The token is not valid yet (nbf)" })
      : new Unauthorized({ reason: "bad_claims", message: `The token's "${error.claim}" claim is missing or invalid` })
  }
  if (error instanceof JoseErrors.JWSSignatureVerificationFailed) {
    return new Unauthorized({ reason: "bad_signature", message: "The token's signature is not valid" })
  }
  if (error instanceof JoseErrors.JOSEAlgNotAllowed) {
    return new Unauthorized({ reason: "malformed", message: "The token must be signed with HS256" })
  }
  return new Unauthorized({ reason: "malformed", message: "The token is not a valid JWT" })
}

/**
 * The HMAC key of a secret, imported once: importing it for every token would cost each connect an extra trip
 * through WebCrypto (and the event loop). One secret is in use at a time; a new one replaces it.
 */
let cachedKey: { readonly secret: string; readonly key: Promise<webcrypto.CryptoKey> } | undefined
const hmacKey = (secret: string): Promise<webcrypto.CryptoKey> => {
  if (cachedKey?.secret !== secret) {
    cachedKey = {
      secret,
      key: webcrypto.subtle.importKey(
        "raw",
        new TextEncoder().encode(secret),
        { name: "HMAC", hash: "SHA-256" },
        false,
        ["verify"]
      )
    }
  }
  return cachedKey.key
}

/** Verifies an HS256 token; succeeds with the user id from `sub`. */
export const verifyToken = (token: string | undefined, secret: Redacted.Redacted<string>) =>
  Effect.gen(function* () {
    if (token === undefined) {
      return yield* new Unauthorized({
        reason: "missing",
        message: "A JWT is required: Authorization: Bearer <jwt>, subprotocol bearer.<jwt>, or ?token=<jwt>"
      })
    }
    const currentDate = new Date(yield* Clock.currentTimeMillis)
    const { payload } = yield* Effect.tryPromise({
      try: async () =>
        jwtVerify(token, await hmacKey(Redacted.value(secret)), {
          algorithms: ["HS256"],
          requiredClaims: ["exp", "sub"],
          currentDate
        }),
      catch: classify
    })
    if (typeof payload.sub !== "string" || payload.sub.length === 0 || payload.sub.length > 256) {
      return yield* new Unauthorized({ reason: "bad_claims", message: 'The token\'s "sub" claim must name the user' })
    }
    return payload.sub
  })

// JWT admission (src/server/Auth.ts): where the token is taken from, and how it is verified.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { TestClock } from "effect/testing"
import { SignJWT } from "jose"
import { extractToken, type TokenSource, Unauthorized, verifyToken } from "../../src/server/Auth.ts"

const secretText = "unit-test-secret-with-plenty-of-entropy-0123456789"
const secret = Redacted.make(secretText)
const key = new TextEncoder().encode(secretText)

/** Issue time of the test tokens: 2025-05-01T12:00:00Z, in seconds. */
const issuedAt = Date.UTC(2025, 4, 1, 12, 0, 0) / 1000
const issuedAtMs = issuedAt * 1000
const hour = 3600

interface Claims {
  readonly sub?: string
  readonly exp?: number
  readonly nbf?: number
  readonly [claim: string]: unknown
}

const sign = (claims: Claims, options: { readonly alg?: string; readonly key?: Uint8Array } = {}) =>
  Effect.promise(() =>
    new SignJWT({ ...claims })
      .setProtectedHeader({ alg: options.alg ?? "HS256", typ: "JWT" })
      .setIssuedAt(issuedAt)
      .sign(options.key ?? key)
  )

const validClaims: Claims = { sub: "user-42", exp: issuedAt + hour }

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url")

/** Verifies with the TestClock at the tokens' issue time; returns the failure (fails the test if it verified). */
const rejection = (token: string | undefined) =>
  Effect.gen(function* () {
    yield* TestClock.setTime(issuedAtMs)
    const error = yield* Effect.flip(verifyToken(token, secret))
    assert.instanceOf(error, Unauthorized)
    assert.strictEqual(error._tag, "Unauthorized")
    return error
  })

const source = (partial: Partial<TokenSource>): TokenSource => ({
  authorization: undefined,
  subprotocols: undefined,
  queryToken: undefined,
  ...partial
})

describe("extractToken", () => {
  it("takes the token from Authorization: Bearer", () => {
    assert.strictEqual(extractToken(source({ authorization: "Bearer abc.def.ghi" })), "abc.def.ghi")
  })

  it('accepts the "bearer" scheme in any case and tolerates extra spaces', () => {
    assert.strictEqual(extractToken(source({ authorization: "bearer tok1" })), "tok1")
    assert.strictEqual(extractToken(source({ authorization: "BEARER tok2" })), "tok2")
    assert.strictEqual(extractToken(source({ authorization: "BeArEr    tok3  " })), "tok3")
  })

  it("ignores other Authorization schemes and falls back to the next source", () => {
    assert.isUndefined(extractToken(source({ authorization: "Basic dXNlcjpwYXNz" })))
    assert.isUndefined(extractToken(source({ authorization: "Bearer" })))
    assert.isUndefined(extractToken(source({ authorization: "Bearer a b" })))
    assert.strictEqual(extractToken(source({ authorization: "Basic dXNlcjpwYXNz", queryToken: "q" })), "q")
  })

  it("takes the token from the subprotocol pair voice-stream.v1, bearer.<jwt>", () => {
    assert.strictEqual(extractToken(source({ subprotocols: "voice-stream.v1, bearer.abc.def.ghi" })), "abc.def.ghi")
    assert.strictEqual(extractToken(source({ subprotocols: "bearer.xyz,voice-stream.v1" })), "xyz")
  })

  it("ignores a bearer. subprotocol without voice-stream.v1", () => {
    assert.isUndefined(extractToken(source({ subprotocols: "bearer.abc" })))
    assert.isUndefined(extractToken(source({ subprotocols: "voice-stream.v2, bearer.abc" })))
    assert.strictEqual(extractToken(source({ subprotocols: "bearer.abc", queryToken: "q" })), "q")
  })

  it("ignores an empty bearer. subprotocol", () => {
    assert.isUndefined(extractToken(source({ subprotocols: "voice-stream.v1, bearer." })))
    assert.strictEqual(extractToken(source({ subprotocols: "voice-stream.v1, bearer.", queryToken: "q" })), "q")
  })

  it("takes the token from the token query parameter; an empty one is no token", () => {
    assert.strictEqual(extractToken(source({ queryToken: "query-token" })), "query-token")
    assert.isUndefined(extractToken(source({ queryToken: "" })))
  })

  it("returns undefined when there is no token anywhere", () => {
    assert.isUndefined(extractToken(source({})))
    assert.isUndefined(extractToken(source({ subprotocols: "voice-stream.v1" })))
  })

  it("precedence: Authorization header > subprotocol pair > query", () => {
    const all = source({
      authorization: "Bearer from-header",
      subprotocols: "voice-stream.v1, bearer.from-protocol",
      queryToken: "from-query"
    })
    assert.strictEqual(extractToken(all), "from-header")
    assert.strictEqual(extractToken({ ...all, authorization: undefined }), "from-protocol")
    assert.strictEqual(extractToken({ ...all, authorization: undefined, subprotocols: undefined }), "from-query")
    assert.strictEqual(extractToken({ ...all, authorization: undefined, subprotocols: "bearer.x" }), "from-query")
  })
})

describe("verifyToken", () => {
  it.effect("a valid HS256 token → its sub", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(issuedAtMs)
      const token = yield* sign(validClaims)
      assert.strictEqual(yield* verifyToken(token, secret), "user-42")
    })
  )

  it.effect("a valid token with nbf in the past and extra claims → its sub", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(issuedAtMs)
      const token = yield* sign({ ...validClaims, nbf: issuedAt - 60, role: "trader" })
      assert.strictEqual(yield* verifyToken(token, secret), "user-42")
    })
  )

  it.effect('no token → "missing"', () =>
    Effect.gen(function* () {
      const error = yield* rejection(undefined)
      assert.strictEqual(error.reason, "missing")
      assert.include(error.message, "Bearer")
    })
  )

  it.effect('garbage → "malformed"', () =>
    Effect.gen(function* () {
      for (const garbage of ["not-a-jwt", "a.b.c", "", "...."]) {
        const error = yield* rejection(garbage)
        assert.strictEqual(error.reason, "malformed", JSON.stringify(garbage))
      }
    })
  )

  it.effect('expired (exp before the clock) → "expired"', () =>
    Effect.gen(function* () {
      const token = yield* sign({ sub: "user-42", exp: issuedAt - 1 })
      const error = yield* rejection(token)
      assert.strictEqual(error.reason, "expired")
    })
  )

  it.effect('nbf in the future → "not_yet_valid"', () =>
    Effect.gen(function* () {
      const token = yield* sign({ ...validClaims, nbf: issuedAt + 600 })
      const error = yield* rejection(token)
      assert.strictEqual(error.reason, "not_yet_valid")
    })
  )

  it.effect('signed with another secret → "bad_signature"', () =>
    Effect.gen(function* () {
      const token = yield* sign(validClaims, {
        key: new TextEncoder().encode("another-secret-of-the-same-length-000000000")
      })
      const error = yield* rejection(token)
      assert.strictEqual(error.reason, "bad_signature")
    })
  )

  it.effect('a tampered payload (signature of another payload) → "bad_signature"', () =>
    Effect.gen(function* () {
      const token = yield* sign(validClaims)
      const [header, , signature] = token.split(".")
      const forged = `${header}.${base64url({ sub: "admin", exp: issuedAt + hour, iat: issuedAt })}.${signature}`
      const error = yield* rejection(forged)
      assert.strictEqual(error.reason, "bad_signature")
    })
  )

  it.effect('an unsigned alg:none token → rejected as "malformed"', () =>
    Effect.gen(function* () {
      const unsigned = `${base64url({ alg: "none", typ: "JWT" })}.${base64url({ sub: "admin", exp: issuedAt + hour })}.`
      const error = yield* rejection(unsigned)
      assert.strictEqual(error.reason, "malformed")
    })
  )

  it.effect("an HS512-signed token (correct secret) → rejected", () =>
    Effect.gen(function* () {
      const token = yield* sign(validClaims, { alg: "HS512" })
      const error = yield* rejection(token)
      assert.strictEqual(error.reason, "malformed")
      assert.include(error.message, "HS256")
    })
  )

  it.effect('missing exp → "bad_claims"', () =>
    Effect.gen(function* () {
      const token = yield* sign({ sub: "user-42" })
      const error = yield* rejection(token)
      assert.strictEqual(error.reason, "bad_claims")
      assert.include(error.message, "exp")
    })
  )

  it.effect('missing sub → "bad_claims"', () =>
    Effect.gen(function* () {
      const token = yield* sign({ exp: issuedAt + hour })
      const error = yield* rejection(token)
      assert.strictEqual(error.reason, "bad_claims")
      assert.include(error.message, "sub")
    })
  )

  it.effect('an empty or over-long sub → "bad_claims"', () =>
    Effect.gen(function* () {
      assert.strictEqual((yield* rejection(yield* sign({ ...validClaims, sub: "" }))).reason, "bad_claims")
      assert.strictEqual((yield* rejection(yield* sign({ ...validClaims, sub: "u".repeat(257) }))).reason, "bad_claims")
      yield* TestClock.setTime(issuedAtMs)
      assert.strictEqual(
        yield* verifyToken(yield* sign({ ...validClaims, sub: "u".repeat(256) }), secret),
        "u".repeat(256)
      )
    })
  )

  it.effect("a non-string sub → rejected as bad_claims", () =>
    Effect.gen(function* () {
      const error = yield* rejection(yield* sign({ exp: issuedAt + hour, sub: 42 as unknown as string }))
      assert.strictEqual(error.reason, "bad_claims")
    })
  )

  it.effect("time comes from the Clock: a token valid at T is expired after TestClock.adjust past its exp", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(issuedAtMs)
      const token = yield* sign(validClaims)
      assert.strictEqual(yield* verifyToken(token, secret), "user-42")
      yield* TestClock.adjust(hour * 1000 - 1000)
      assert.strictEqual(yield* verifyToken(token, secret), "user-42", "still valid a second before exp")
      yield* TestClock.adjust(2000)
      const error = yield* Effect.flip(verifyToken(token, secret))
      assert.strictEqual(error.reason, "expired")
    })
  )

  it.effect("time comes from the Clock: a token with a future nbf becomes valid once the clock reaches it", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(issuedAtMs)
      const token = yield* sign({ ...validClaims, nbf: issuedAt + 600 })
      assert.strictEqual((yield* Effect.flip(verifyToken(token, secret))).reason, "not_yet_valid")
      yield* TestClock.adjust(600 * 1000)
      assert.strictEqual(yield* verifyToken(token, secret), "user-42")
    })
  )

  it.effect("time comes from the Clock: a token already expired in real time still verifies at an earlier clock", () =>
    Effect.gen(function* () {
      // Issued and expired in 2025: the live clock would reject it, the TestClock set to the issue time accepts it.
      const token = yield* sign(validClaims)
      yield* TestClock.setTime(issuedAtMs + 1000)
      assert.strictEqual(yield* verifyToken(token, secret), "user-42")
    })
  )
})

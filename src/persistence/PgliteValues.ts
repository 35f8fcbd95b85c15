// Values across the embedded database (PGlite), made to match what @effect/sql-pg sends and returns, so the same
// SQL and the same row handling work on both backends.
//
// Parameters: typed as @effect/sql-pg types them (boolean → bool, bigint → int8, integer → int4 or int8, other
// number → float8, Date → timestamptz, Uint8Array → bytea, string → untyped so the column decides, arrays by their
// element, PgTypes.Parameter by its OID), and refused where @effect/sql-pg refuses (plain objects: pass JSON with
// `JSON.stringify(v)::jsonb` or `PgTypes.jsonb(v)`). Everything is sent to PGlite as text.
//
// Results: int8 → bigint (PGlite: number when safe), date → "YYYY-MM-DD" (PGlite: Date), timestamp → Date from its UTC
// fields (PGlite: local time), ±infinity timestamps → invalid Date (PGlite: ±Infinity), time → bigint microseconds
// (PGlite: string). Known differences left: interval is a string here (@effect/sql-pg: an Interval object).
// PgTypes alone, not the package index: the worker thread (PgliteWorker.ts) imports this file and need not load `pg`.
import * as PgTypes from "@effect/sql-pg/PgTypes"

const OID = PgTypes.OID
const INT32_MIN = -2147483648
const INT32_MAX = 2147483647

export class UnsupportedParameter extends Error {}

/** A parameter as PGlite gets it: its text form (or null) and the type to bind it with (0: let the server infer). */
export interface TextParameter {
  readonly text: string | null
  readonly oid: number
}

const hex = (bytes: Uint8Array) => {
  let out = "\\x"
  for (const byte of bytes) out += byte.toString(16).padStart(2, "0")
  return out
}

const dateText = (value: Date) => {
  if (Number.isNaN(value.getTime())) throw new UnsupportedParameter("Cannot send an invalid Date")
  return value.toISOString()
}

const quoteElement = (text: string | null) =>
  text === null ? "NULL" : `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`

/** The text form of `value` for a parameter of type `oid`. */
const toText = (value: unknown, oid: number): string | null => {
  if (value === null || value === undefined) return null
  if (oid === OID.json || oid === OID.jsonb) {
    const text = JSON.stringify(value)
    if (text === undefined) throw new UnsupportedParameter("Value cannot be serialised as JSON")
    return text
  }
  if (value instanceof Date) return dateText(value)
  if (typeof value === "number" && (oid === OID.timestamptz || oid === OID.timestamp)) return dateText(new Date(value))
  if (value instanceof Uint8Array) return hex(value)
  if (typeof value === "boolean") return value ? "t" : "f"
  if (Array.isArray(value)) {
    const elementOid = elementOf.get(oid) ?? 0
    return `{${value.map((element) => quoteElement(toText(element, elementOid))).join(",")}}`
  }
  if (typeof value === "object")
    throw new UnsupportedParameter(`Cannot send ${String(value)} as PostgreSQL type ${oid}`)
  return String(value)
}

const elementOf = new Map<number, number>(
  Object.values(OID).flatMap((element) => {
    const array = PgTypes.arrayOidFor(element)
    return array === undefined ? [] : [[array, element] as const]
  })
)

/** The type @effect/sql-pg binds a plain JS value with (0: untyped), or an error where it refuses the value. */
const inferOid = (value: unknown): number => {
  if (value === null || value === undefined) return 0
  switch (typeof value) {
    case "boolean":
      return OID.bool
    case "bigint":
      return OID.int8
    case "number":
      if (Number.isInteger(value)) {
        if (value >= INT32_MIN && value <= INT32_MAX) return OID.int4
        if (Number.isSafeInteger(value)) return OID.int8
      }
      return OID.float8
    case "string":
      return 0
  }
  if (value instanceof Date) return OID.timestamptz
  if (value instanceof Uint8Array || value instanceof Int8Array) return OID.bytea
  throw new UnsupportedParameter(`Cannot infer a PostgreSQL type for ${String(value)}`)
}

const inferArrayOid = (values: ReadonlyArray<unknown>): number => {
  let element: number | undefined
  for (const value of values) {
    if (Array.isArray(value)) throw new UnsupportedParameter("Nested array parameters are not supported")
    let oid = inferOid(value)
    if (oid === 0) {
      if (value === null || value === undefined) continue
      oid = OID.text
    }
    if (element === undefined) element = oid
    else if (element !== oid) {
      // Mixed integer widths widen to int8, as they do in @effect/sql-pg.
      const ints = [OID.int4, OID.int8] as ReadonlyArray<number>
      if (ints.includes(element) && ints.includes(oid)) element = OID.int8
      else throw new UnsupportedParameter("Array parameters must have elements of one type")
    }
  }
  return element === undefined ? 0 : (PgTypes.arrayOidFor(element) ?? 0)
}

/** Converts one parameter; throws UnsupportedParameter for values @effect/sql-pg would refuse too. */
export const toTextParameter = (value: unknown): TextParameter => {
  if (PgTypes.isParameter(value)) return { text: toText(value.value, value.oid), oid: value.oid }
  if (value instanceof Int8Array) {
    return { text: hex(new Uint8Array(value.buffer, value.byteOffset, value.byteLength)), oid: OID.bytea }
  }
  if (Array.isArray(value)) {
    const oid = value.length === 0 ? 0 : inferArrayOid(value)
    return { text: toText(value, oid), oid }
  }
  const oid = inferOid(value)
  return { text: toText(value, oid), oid }
}

const invalidDate = () => new Date(Number.NaN)

/** "12:34:56.789012" → microseconds since midnight, as @effect/sql-pg decodes `time`. */
const timeMicros = (text: string): bigint => {
  const match = /^(\d+):(\d+):(\d+)(?:\.(\d{1,6}))?$/.exec(text)
  if (match === null) return 0n
  const [, h, m, s, fraction = ""] = match
  const seconds = BigInt(Number(h) * 3600 + Number(m) * 60 + Number(s))
  return seconds * 1_000_000n + BigInt(fraction.padEnd(6, "0"))
}

/** PostgreSQL writes "2024-01-02 03:04:05.678901+00"; a `timestamp` has no zone and is read as UTC fields. */
const timestamp = (text: string, hasZone: boolean): Date =>
  text === "infinity" || text === "-infinity" ? invalidDate() : new Date(hasZone ? text : `${text}Z`)

/** Result parsers by type OID, given to PGlite so rows come back with @effect/sql-pg's JS types. */
export const resultParsers: Record<number, (text: string, typeId?: number) => unknown> = {
  [OID.int8]: (text) => BigInt(text),
  [OID.date]: (text) => text,
  [OID.time]: timeMicros,
  [OID.timestamp]: (text) => timestamp(text, false),
  [OID.timestamptz]: (text) => timestamp(text, true)
}

/** Serializers that pass our text through untouched (PGlite's own would re-serialize by the described type). */
export const passThroughSerializers: Record<number, (value: unknown) => string> = new Proxy(
  {},
  { get: () => (value: unknown) => value as string }
)

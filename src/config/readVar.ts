// Reading one environment variable through Effect Config, with errors that name the variable.
import { Config, Effect, Schema } from "effect"

/** A setting that is missing, malformed or out of range; the server refuses to start and says which. */
export class InvalidConfig extends Schema.TaggedError<InvalidConfig>()("InvalidConfig", {
  variable: Schema.String,
  message: Schema.String
}) {}

/** Reads a Config and turns any failure into an InvalidConfig naming `variable`. */
export const readVar = <A>(variable: string, config: Config.Config<A>): Effect.Effect<A, InvalidConfig> =>
  config.pipe(
    Effect.mapError(
      (error) => new InvalidConfig({ variable, message: `${variable} could not be read: ${firstLine(error.message)}` })
    )
  )

const firstLine = (text: string) => text.split("\n")[0] ?? text

/** The raw text of a setting, trimmed, or undefined when it is unset or empty. */
const rawVar = (variable: string) =>
  readVar(variable, Config.option(Config.String(variable))).pipe(
    Effect.map((value) => (value._tag === "Some" && value.value.trim().length > 0 ? value.value.trim() : undefined))
  )

/** An integer setting with a default and an inclusive range. */
export const intVar = (variable: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER) =>
  rawVar(variable).pipe(
    Effect.flatMap((raw) => {
      const n = raw === undefined ? fallback : /^[+-]?\d+$/.test(raw) ? Number(raw) : Number.NaN
      return Number.isSafeInteger(n) && n >= min && n <= max
        ? Effect.succeed(n)
        : Effect.fail(
            new InvalidConfig({
              variable,
              message: `${variable} must be an integer from ${min} to ${max === Number.MAX_SAFE_INTEGER ? "∞" : max}; got ${raw ?? fallback}`
            })
          )
    })
  )

const Truthy = ["true", "1", "yes", "on"]
const Falsy = ["false", "0", "no", "off"]

/** A boolean setting: true/false, 1/0, yes/no, on/off (any case). */
export const boolVar = (variable: string, fallback: boolean) =>
  rawVar(variable).pipe(
    Effect.flatMap((raw) => {
      if (raw === undefined) return Effect.succeed(fallback)
      const value = raw.toLowerCase()
      if (Truthy.includes(value)) return Effect.succeed(true)
      if (Falsy.includes(value)) return Effect.succeed(false)
      return Effect.fail(
        new InvalidConfig({
          variable,
          message: `${variable} must be true or false (or 1/0, yes/no, on/off); got ${raw ?? fallback}`
        })
      )
    })
  )

/** A string setting with a default. */
export const stringVar = (variable: string, fallback: string) =>
  readVar(variable, Config.String(variable).pipe(Config.withDefault(fallback)))

/** A setting that must be one of `allowed`; the error lists them. */
export const oneOfVar = <const L extends string>(variable: string, allowed: ReadonlyArray<L>, fallback: L) =>
  stringVar(variable, fallback).pipe(
    Effect.map((value) => value.trim()),
    Effect.filterOrFail(
      (value): value is L => (allowed as ReadonlyArray<string>).includes(value),
      (value) =>
        new InvalidConfig({
          variable,
          message: `${variable}=${JSON.stringify(value)} is not supported; allowed: ${allowed.join(", ")}`
        })
    )
  )

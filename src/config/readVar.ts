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
      (error) => new InvalidConfig({ variable, message: `${variable} is invalid: ${firstLine(error.message)}` })
    )
  )

const firstLine = (text: string) => text.split("\n")[0] ?? text

/** An integer setting with a default and an inclusive range. */
export const intVar = (variable: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER) =>
  readVar(variable, Config.Int(variable).pipe(Config.withDefault(fallback))).pipe(
    Effect.filterOrFail(
      (n) => n >= min && n <= max,
      (n) =>
        new InvalidConfig({
          variable,
          message: `${variable} must be an integer from ${min} to ${max === Number.MAX_SAFE_INTEGER ? "∞" : max}; got ${n}`
        })
    )
  )

/** A boolean setting ("true"/"false", "1"/"0", "yes"/"no", "on"/"off"). */
export const boolVar = (variable: string, fallback: boolean) =>
  readVar(variable, Config.Boolean(variable).pipe(Config.withDefault(fallback)))

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

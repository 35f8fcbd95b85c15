// Running a text of several SQL statements (a migration file) on either backend. PGlite runs it as one simple query
// (`exec`). @effect/sql-pg 4.0.5 has no simple-query path (every query is Parse/Bind/Execute, which takes one
// statement), so for PostgreSQL the text is split into statements here and they run one after another on one
// connection. Not atomic by itself: wrap it in `sql.withTransaction` for all-or-nothing (the migrator does).
import { Effect, Option } from "effect"
import { SqlClient } from "effect/sql"
import type { Connection } from "effect/sql/SqlConnection"
import type { SqlError } from "effect/sql/SqlError"
import { isScriptConnection } from "./PgliteClient.ts"

const identifierChar = /[A-Za-z0-9_$\u0080-\uffff]/
const dollarTag = /^\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/

/**
 * Splits SQL text into statements at top-level semicolons, aware of PostgreSQL's quoting: '…' (with '' and E'\''),
 * "…", $tag$…$tag$, -- line comments and nested block comments. Statements holding only comments are dropped.
 * Not handled: SQL-standard `BEGIN ATOMIC … END` function bodies (write those with $$ … $$).
 */
export const splitStatements = (text: string): ReadonlyArray<string> => {
  const statements: Array<string> = []
  let start = 0
  let hasCode = false
  let i = 0
  const push = (end: number) => {
    const statement = text.slice(start, end).trim()
    if (hasCode && statement.length > 0) statements.push(statement)
    start = end + 1
    hasCode = false
  }
  while (i < text.length) {
    const c = text[i]!
    const next = text[i + 1]
    if (c === "-" && next === "-") {
      const end = text.indexOf("\n", i)
      i = end === -1 ? text.length : end + 1
    } else if (c === "/" && next === "*") {
      let depth = 1
      i += 2
      while (i < text.length && depth > 0) {
        const pair = text.slice(i, i + 2)
        if (pair === "/*" || pair === "*/") {
          depth += pair === "/*" ? 1 : -1
          i += 2
        } else i++
      }
    } else if (c === "'" || c === '"') {
      hasCode = true
      const escapes = c === "'" && /[eE]/.test(text[i - 1] ?? "") && !identifierChar.test(text[i - 2] ?? "")
      i++
      while (i < text.length) {
        if (escapes && text[i] === "\\") i += 2
        else if (text[i] === c && text[i + 1] === c) i += 2
        else if (text[i] === c) break
        else i++
      }
      i++
    } else if (c === "$" && !identifierChar.test(text[i - 1] ?? "") && dollarTag.test(text.slice(i, i + 64))) {
      hasCode = true
      const tag = dollarTag.exec(text.slice(i, i + 64))![0]
      const end = text.indexOf(tag, i + tag.length)
      i = end === -1 ? text.length : end + tag.length
    } else if (c === ";") {
      push(i)
      i++
    } else {
      if (!/\s/.test(c)) hasCode = true
      i++
    }
  }
  push(text.length)
  return statements
}

const runOn = (connection: Connection, text: string): Effect.Effect<void, SqlError> =>
  isScriptConnection(connection)
    ? connection.executeScript(text)
    : Effect.forEach(splitStatements(text), (statement) => connection.executeUnprepared(statement, [], undefined), {
        discard: true
      })

/** Runs every statement of `text`, in the current transaction if there is one, else on one reserved connection. */
export const executeScript = Effect.fnUntraced(function* (text: string) {
  const sql = yield* SqlClient.SqlClient
  const transaction = yield* Effect.serviceOption(sql.transactionService)
  if (Option.isSome(transaction)) return yield* runOn(transaction.value[0], text)
  return yield* Effect.scoped(Effect.flatMap(sql.reserve, (connection) => runOn(connection, text)))
})

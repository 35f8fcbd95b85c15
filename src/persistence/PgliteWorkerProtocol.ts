// The messages between the main thread and the embedded database's worker thread (PgliteWorker.ts), and PGlite's
// errors in a form that survives the trip: a structured clone keeps an Error's message but drops its SQLSTATE `code`
// and `constraint`, which the SqlError classification needs, so errors travel as plain data and are rebuilt here.
import type { TextParameter } from "./PgliteValues.ts"

/** Given to the worker at start (workerData): where the database lives; undefined: in memory. */
export interface WorkerOptions {
  readonly dataDir: string | undefined
}

/** The id of the open: the worker answers it once, when PGlite is ready or could not start. */
export const OpenRequestId = 0

export type WorkerRequest =
  | {
      readonly id: number
      readonly op: "query"
      readonly sql: string
      /** Already converted to text and type OIDs in the main thread (PgliteValues.ts). */
      readonly params: ReadonlyArray<TextParameter>
      readonly rowMode: "object" | "array"
    }
  | { readonly id: number; readonly op: "exec"; readonly sql: string }
  | { readonly id: number; readonly op: "close" }

/** What a statement returns (PGlite's Results, without what cannot be cloned). */
export interface WorkerResult {
  readonly rows: ReadonlyArray<unknown>
  readonly fields?: ReadonlyArray<{ readonly name: string; readonly dataTypeID: number }> | undefined
  readonly affectedRows?: number | undefined
  readonly command?: string | undefined
}

/** An error as data: its name and message, and PostgreSQL's fields when there are some (code, constraint, …). */
export interface WorkerErrorData {
  readonly name: string
  readonly message: string
  readonly [field: string]: string | number | undefined
}

export type WorkerReply =
  | { readonly id: number; readonly ok: true; readonly result: WorkerResult }
  | { readonly id: number; readonly ok: false; readonly error: WorkerErrorData }

/** SQLSTATE connection_failure: the worker is gone, so the statement is classified as a ConnectionError. */
export const ConnectionFailure = "08006"

/** Any thrown value as data, keeping the string and number fields PGlite's DatabaseError carries. */
export const errorData = (error: unknown): WorkerErrorData => {
  if (!(error instanceof Error)) return { name: "Error", message: String(error) }
  const data: Record<string, string | number> = {}
  for (const [field, value] of Object.entries(error)) {
    if (typeof value === "string" || typeof value === "number") data[field] = value
  }
  return { ...data, name: error.name, message: error.message }
}

/** An error of the database rebuilt in the main thread, with the same fields (`code`, `constraint`…) as PGlite's. */
export class PgliteWorkerError extends Error {
  readonly code: string | undefined
  readonly constraint: string | undefined
  constructor(data: WorkerErrorData) {
    super(data.message)
    Object.assign(this, data)
    this.name = data.name
    this.code = typeof data.code === "string" ? data.code : undefined
    this.constraint = typeof data.constraint === "string" ? data.constraint : undefined
  }
}

// A refused request: a plain HTTP status with the JSON body { "error": code, "message": … }.
import { HttpServerResponse } from "effect/http"
import type { RefusalCode } from "../domain/Errors.ts"

export const refusal = (status: number, code: RefusalCode, message: string, headers: Record<string, string> = {}) =>
  HttpServerResponse.jsonUnsafe({ error: code, message }, { status, headers })

// Which browser origins may open a session (STREAM_CORS_ORIGIN). Non-browser clients send no Origin and pass.

export const originAllowed = (origin: string | undefined, allowed: "*" | ReadonlyArray<string>): boolean =>
  origin === undefined || allowed === "*" || allowed.includes(origin)

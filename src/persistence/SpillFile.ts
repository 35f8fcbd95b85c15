// The append-only spill file of the session store: records that could not be kept in memory while the database was
// away, one JSON line each, replayed oldest first. In memory for tests; on disk (STREAM_DATA_DIR) in the server.
import { Effect, FileSystem, Path, type PlatformError, Schema } from "effect"
import { type StoreRecord, StoreRecordJson } from "./Records.ts"

export interface SpillFile {
  readonly append: (records: ReadonlyArray<StoreRecord>) => Effect.Effect<void, PlatformError.PlatformError>
  readonly readAll: Effect.Effect<ReadonlyArray<StoreRecord>, PlatformError.PlatformError>
  readonly clear: Effect.Effect<void, PlatformError.PlatformError>
}

const encodeLine = Schema.encodeSync(StoreRecordJson)
const decodeLine = Schema.decodeUnknownResult(StoreRecordJson)

const decodeLines = (text: string) =>
  Effect.gen(function* () {
    const records: Array<StoreRecord> = []
    for (const line of text.split("\n")) {
      if (line.length === 0) continue
      const decoded = decodeLine(line)
      if (decoded._tag === "Success") records.push(decoded.success)
      else yield* Effect.logError("session store: an unreadable spill-file line was skipped", { length: line.length })
    }
    return records
  })

const encodeLines = (records: ReadonlyArray<StoreRecord>) => records.map((r) => `${encodeLine(r)}\n`).join("")

/** The spill file at `path` (its folder is created). */
export const fileSpill = Effect.fnUntraced(function* (path: string) {
  const fs = yield* FileSystem.FileSystem
  const paths = yield* Path.Path
  yield* fs.makeDirectory(paths.dirname(path), { recursive: true })
  const spill: SpillFile = {
    append: (records) =>
      records.length === 0 ? Effect.void : fs.writeFileString(path, encodeLines(records), { flag: "a" }),
    readAll: Effect.gen(function* () {
      if (!(yield* fs.exists(path))) return []
      return yield* decodeLines(yield* fs.readFileString(path))
    }),
    clear: fs.writeFileString(path, "")
  }
  return spill
})

/** A spill "file" held in a string, with the same encoding: for tests under TestClock. */
export const memorySpill = () => {
  let text = ""
  const spill: SpillFile & { readonly text: () => string } = {
    append: (records) =>
      Effect.sync(() => {
        text += encodeLines(records)
      }),
    readAll: Effect.suspend(() => decodeLines(text)),
    clear: Effect.sync(() => {
      text = ""
    }),
    text: () => text
  }
  return spill
}

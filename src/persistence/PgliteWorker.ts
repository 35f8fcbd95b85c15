// The embedded database's own thread. PGlite runs PostgreSQL compiled to WebAssembly synchronously, so a statement on
// the main thread stalls the server's event loop (tens of milliseconds for a batch of writes, heard as audio jitter).
// Here it runs off that loop: this worker opens PGlite (options from workerData), answers the open as request 0, then
// answers each request of PgliteWorkerClient.ts by id. Result parsers and parameter serializers are functions, which
// cannot cross threads, so they live here; the main thread converts parameters to text before sending them.
import { parentPort, workerData } from "node:worker_threads"
import { PGlite } from "@electric-sql/pglite"
import { passThroughSerializers, resultParsers } from "./PgliteValues.ts"
import {
  errorData,
  OpenRequestId,
  type WorkerOptions,
  type WorkerReply,
  type WorkerRequest,
  type WorkerResult
} from "./PgliteWorkerProtocol.ts"

if (parentPort === null) throw new Error("PgliteWorker.ts runs as a worker thread (see PgliteWorkerClient.ts)")
const port = parentPort
const { dataDir } = workerData as WorkerOptions

/** Sends a reply; one that cannot be cloned is answered with the cloning error instead, so no request is left open. */
const reply = (message: WorkerReply) => {
  try {
    port.postMessage(message)
  } catch (error) {
    port.postMessage({ id: message.id, ok: false, error: errorData(error) } satisfies WorkerReply)
  }
}

const opening = PGlite.create({ ...(dataDir === undefined ? {} : { dataDir }), parsers: resultParsers })

const none: WorkerResult = { rows: [] }

const run = async (request: WorkerRequest): Promise<WorkerResult> => {
  const db = await opening
  switch (request.op) {
    case "query": {
      const result = await db.query(
        request.sql,
        request.params.map((p) => p.text),
        { rowMode: request.rowMode, paramTypes: request.params.map((p) => p.oid), serializers: passThroughSerializers }
      )
      return {
        rows: result.rows,
        fields: result.fields,
        affectedRows: result.affectedRows,
        command: result.command
      }
    }
    case "exec":
      await db.exec(request.sql)
      return none
    case "close":
      await db.close()
      return none
  }
}

port.on("message", (request: WorkerRequest) => {
  run(request).then(
    (result) => reply({ id: request.id, ok: true, result }),
    (error: unknown) => reply({ id: request.id, ok: false, error: errorData(error) })
  )
})

opening.then(
  () => reply({ id: OpenRequestId, ok: true, result: none }),
  (error: unknown) => reply({ id: OpenRequestId, ok: false, error: errorData(error) })
)

// The main thread's end of the embedded database's worker thread (PgliteWorker.ts): requests by id, one promise each,
// answered in any order. Once the worker is gone (crashed, exited, or closed here) every pending request and every
// later one is rejected with a connection_failure error, so no caller waits forever. The worker keeps the process
// alive only while a request is pending: an idle open database does not hold the process, as in-process PGlite did not.
import { Worker } from "node:worker_threads"
import {
  ConnectionFailure,
  OpenRequestId,
  PgliteWorkerError,
  type WorkerOptions,
  type WorkerReply,
  type WorkerRequest,
  type WorkerResult
} from "./PgliteWorkerProtocol.ts"

/** A request as the caller writes it; the id is given here. */
export type Request = WithoutId<WorkerRequest>
type WithoutId<R> = R extends unknown ? Omit<R, "id"> : never

interface Pending {
  readonly resolve: (result: WorkerResult) => void
  readonly reject: (error: PgliteWorkerError) => void
}

const gone = (message: string) => new PgliteWorkerError({ name: "Error", message, code: ConnectionFailure })

export class PgliteWorkerClient {
  /** The thread; exposed so tests can end it as a crash would. */
  readonly worker: Worker
  private readonly pending = new Map<number, Pending>()
  private nextId = OpenRequestId + 1
  /** Set once the worker cannot answer any more: why, for every request from then on. */
  private failure: PgliteWorkerError | undefined

  private constructor(options: WorkerOptions) {
    this.worker = new Worker(new URL("./PgliteWorker.ts", import.meta.url), { workerData: options })
    this.worker.on("message", (reply: WorkerReply) => this.settle(reply))
    this.worker.on("error", (error) =>
      this.fail(gone(`The embedded database's worker thread crashed: ${error.message}`))
    )
    this.worker.on("messageerror", (error) => {
      // An answer that could not be read belongs to an unknown request: end the worker rather than leave it open.
      this.fail(gone(`The embedded database's worker thread sent an unreadable answer: ${error.message}`))
      void this.worker.terminate()
    })
    this.worker.on("exit", (code) =>
      this.fail(gone(`The embedded database's worker thread exited unexpectedly (exit code ${code})`))
    )
  }

  /** Starts the worker and waits for PGlite to be open; if it cannot open, the worker is ended and the error given. */
  static async open(options: WorkerOptions): Promise<PgliteWorkerClient> {
    const client = new PgliteWorkerClient(options)
    try {
      await client.expect(OpenRequestId)
      return client
    } catch (error) {
      await client.worker.terminate()
      throw error
    }
  }

  /** Sends one request; resolves with its result, or rejects with the database's error or the worker's end. */
  request(request: Request): Promise<WorkerResult> {
    if (this.failure !== undefined) return Promise.reject(this.failure)
    return this.send(request)
  }

  /** Closes PGlite in the worker (waiting for it), then ends the worker. Never rejects; later requests are refused. */
  async close(): Promise<void> {
    if (this.failure === undefined) {
      const closed = this.send({ op: "close" })
      this.failure = gone("The embedded database is closed")
      await closed.catch(() => undefined)
    }
    await this.worker.terminate().catch(() => undefined)
  }

  private send(request: Request): Promise<WorkerResult> {
    const id = this.nextId++
    const answer = this.expect(id)
    try {
      this.worker.postMessage({ ...request, id } as WorkerRequest)
    } catch (error) {
      this.settle({ id, ok: false, error: { name: "Error", message: String(error) } })
    }
    return answer
  }

  private expect(id: number): Promise<WorkerResult> {
    return new Promise<WorkerResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      if (this.pending.size === 1) this.worker.ref()
    })
  }

  private settle(reply: WorkerReply) {
    const pending = this.pending.get(reply.id)
    if (pending === undefined) return
    this.pending.delete(reply.id)
    if (this.pending.size === 0) this.worker.unref()
    if (reply.ok) pending.resolve(reply.result)
    else pending.reject(new PgliteWorkerError(reply.error))
  }

  private fail(error: PgliteWorkerError) {
    this.failure ??= error
    const pending = [...this.pending.values()]
    this.pending.clear()
    this.worker.unref()
    for (const { reject } of pending) reject(error)
  }
}

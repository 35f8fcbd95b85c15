// One process at a time on the embedded database's folder: PGlite does not guard its data directory, and two
// processes writing the same files corrupt it. A lock file next to the folder names its owner ("pid@host"). A lock
// left by a process of this host that no longer exists is taken over, including one with our own pid that this
// process does not hold (a container restarted as pid 1). A lock from another host cannot be checked: it is obeyed,
// and the error says which file to delete if that owner is gone.

import { link, mkdir, readFile, unlink, writeFile } from "node:fs/promises"
import { hostname } from "node:os"
import { Duration, Effect, Schedule } from "effect"
import { ConnectionError, SqlError } from "effect/sql/SqlError"

/** How long to wait for another process to let go of the folder before giving up. */
export const DefaultLockWaitMs = 15_000

const me = `${process.pid}@${hostname()}`
/** Lock files this process holds now. */
const held = new Set<string>()

class Busy extends Error {
  readonly owner: string
  constructor(owner: string) {
    super(`held by ${owner}`)
    this.owner = owner
  }
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** Whether the owner written in a lock file may still be using the folder. */
const ownerMayBeAlive = (path: string, owner: string) => {
  const match = /^(\d+)@(.*)$/.exec(owner)
  if (match === null) return false
  const [, pid, host] = match
  if (host !== hostname()) return true
  if (owner === me) return held.has(path)
  return isAlive(Number(pid))
}

/** One attempt: create the lock file (complete, atomically), or remove a stale one and retry, or report its owner. */
const tryLock = async (path: string): Promise<void> => {
  const temp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}`
  await writeFile(temp, me)
  try {
    for (;;) {
      try {
        await link(temp, path)
        held.add(path)
        return
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error
      }
      const owner = (await readFile(path, "utf8").catch(() => "")).trim()
      if (ownerMayBeAlive(path, owner)) throw new Busy(owner)
      await unlink(path).catch(() => undefined)
    }
  } finally {
    await unlink(temp).catch(() => undefined)
  }
}

const release = (path: string) =>
  Effect.promise(async () => {
    held.delete(path)
    const owner = (await readFile(path, "utf8").catch(() => "")).trim()
    if (owner === me) await unlink(path).catch(() => undefined)
  })

/**
 * Holds `<dir>.lock` for the current scope, creating the parent folder if needed. Waits up to `waitMs` while another
 * live process (or another client in this one) holds it, then fails with a ConnectionError naming the holder.
 */
export const lockDataDir = (dir: string, waitMs = DefaultLockWaitMs) => {
  const path = `${dir}.lock`
  const attempt = Effect.tryPromise({
    try: async () => {
      await mkdir(dir, { recursive: true })
      await tryLock(path)
    },
    catch: (error) => error
  })
  const retries = Math.ceil(waitMs / 100)
  return Effect.acquireRelease(
    attempt.pipe(
      Effect.retry({
        while: (error) => error instanceof Busy,
        schedule: Schedule.spaced(Duration.millis(100)),
        times: retries
      }),
      Effect.mapError(
        (error) =>
          new SqlError({
            reason: new ConnectionError({
              cause: error,
              message:
                error instanceof Busy
                  ? `The embedded database in ${dir} is in use by process ${error.owner} (PGlite allows one process ` +
                    `at a time): stop it, or set DATABASE_URL to use a PostgreSQL server; if that process is gone, ` +
                    `delete ${path}`
                  : `Cannot lock the embedded database in ${dir}: ${String(error)}`,
              operation: "connect"
            })
          })
      )
    ),
    () => release(path)
  )
}

// Persistence as the server runs it: the configured database, migrated before anything else uses it, under the
// session store (buffered writes) and the repository (read API).
import { NodeServices } from "@effect/platform-node"
import { Layer } from "effect"
import * as Database from "./Database.ts"
import { MigrationsOnStart } from "./Migrations.ts"
import { SessionRepository } from "./SessionRepository.ts"
import { SessionStoreLive } from "./SessionStoreLive.ts"

/** The SqlClient, after pending migrations ran (they are built first, so nothing sees an old schema). */
const MigratedDatabase = MigrationsOnStart.pipe(Layer.provideMerge(Database.layer))

export const PersistenceLive = Layer.mergeAll(SessionStoreLive, SessionRepository.layer).pipe(
  Layer.provide(MigratedDatabase),
  Layer.provide(NodeServices.layer)
)

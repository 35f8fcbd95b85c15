// The cost of a connection, server beside baseline: `node bench/connects.ts [rounds 1..20]`. Each round runs one
// burst of 100 connects at 100/s against the server (as `npm run bench` starts it) and one against the raw baseline,
// alternating, each session sending `session.start` and leaving at the end of its burst. Prints each burst's upgrade
// latency (p50/p99, until `open`) and the target's CPU time (all its threads, /proc) per connection: upgrade, JWT,
// admission, session start and close, and the database writes they cause. BENCH_SERVER_DIR as for `npm run bench`.
import { randomBytes } from "node:crypto"
import { MockDelays } from "./lib/criticalPath.ts"
import { freePort, startServerUnderTest, startTarget, type Target } from "./run/proc.ts"
import { connectBurst } from "./run/scenarios.ts"

const rounds = Number(process.argv[2] ?? 3)
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20) {
  console.error("usage: node bench/connects.ts [rounds 1..20]")
  process.exit(2)
}
const perBurst = 100
const secret = randomBytes(32).toString("hex")
const server = await startServerUnderTest(secret, {}, process.env.BENCH_SERVER_DIR)
let baseline: Target | undefined
try {
  const port = await freePort()
  const config = {
    port,
    secret,
    schedule: [],
    endpointSilenceMs: MockDelays.endpointSilenceMs,
    threshold: MockDelays.speechThreshold
  }
  baseline = await startTarget("baseline", "bench/baseline.ts", [JSON.stringify(config)], {}, port)
  const cpuPerConnect: Record<string, Array<number>> = { server: [], baseline: [] }
  for (let round = 1; round <= rounds; round++) {
    for (const target of round % 2 === 1 ? [server, baseline] : [baseline, server]) {
      const cpuBefore = target.cpuMs()
      const burst = await connectBurst(target, secret, perBurst, 100)
      const cpuMs = (target.cpuMs() - cpuBefore) / perBurst
      cpuPerConnect[target.name]!.push(cpuMs)
      console.log(
        `round ${round} ${target.name.padEnd(8)} upgrade p50/p99 ${burst.connectMs.p50}/${burst.connectMs.p99} ms, ` +
          `CPU ${cpuMs.toFixed(2)} ms per connection, errors ${burst.errors}`
      )
    }
  }
  const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  const s = median(cpuPerConnect.server!)
  const b = median(cpuPerConnect.baseline!)
  console.log(
    `median CPU per connection: server ${s.toFixed(2)} ms, baseline ${b.toFixed(2)} ms (${(s / b).toFixed(2)}×)`
  )
} finally {
  await server.stop()
  await baseline?.stop()
}

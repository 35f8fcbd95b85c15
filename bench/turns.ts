// The CPU cost of one reply: `node bench/turns.ts [clients] [seconds]`. Starts the server (pinned to core 0, like the
// benchmark) with zero mock delays, then `clients` sessions each send `input.text` again as soon as the previous
// reply is done; prints the server's CPU per turn (main thread, and the whole process with the database worker and
// GC threads). BENCH_TOKENS_PER_SEC paces the mock LLM (default: unpaced); BENCH_CPU_PROF as for the benchmark.
// Loopback only; bounded in clients and time.
import { randomBytes } from "node:crypto"
import { readFileSync } from "node:fs"
import { SignJWT } from "jose"
import WebSocket from "ws"
import { startServerUnderTest } from "./run/proc.ts"

const clients = Number(process.argv[2] ?? 20)
const seconds = Number(process.argv[3] ?? 8)
if (!Number.isInteger(clients) || clients < 1 || clients > 1000 || !(seconds > 0 && seconds <= 120)) {
  console.error("usage: node bench/turns.ts [clients 1..1000] [seconds 1..120]")
  process.exit(2)
}
const secret = randomBytes(32).toString("hex")
const server = await startServerUnderTest(secret, {
  STREAM_MOCK_STT_FINAL_DELAY_MS: "0",
  STREAM_MOCK_LLM_FIRST_TOKEN_MS: "0",
  STREAM_MOCK_LLM_TOKENS_PER_SEC: process.env.BENCH_TOKENS_PER_SEC ?? "100000",
  STREAM_MOCK_TTS_FIRST_BYTE_MS: "0"
})
/** CPU time (user + system, ms) of the server's main thread. */
const mainThreadMs = () => {
  const stat = readFileSync(`/proc/${server.pid}/task/${server.pid}/stat`, "utf8")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return (Number(fields[11]) + Number(fields[12])) * 10
}
let measuring = false
let stopping = false
let turns = 0
const open = async (i: number) => {
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(`turns-${i}`)
    .setExpirationTime("1h")
    .sign(new TextEncoder().encode(secret))
  const ws = new WebSocket(`${server.url}`, { headers: { authorization: `Bearer ${token}` } })
  const ask = () => {
    if (!stopping) ws.send(JSON.stringify({ type: "input.text", text: "what is bitcoin doing" }))
  }
  ws.on("message", (data, isBinary) => {
    if (isBinary) return
    const type = (JSON.parse(String(data)) as { readonly type: string }).type
    if (type === "session.started") ask()
    if (type === "response.done") {
      if (measuring) turns++
      ask()
    }
  })
  await new Promise((resolve, reject) => {
    ws.once("open", resolve)
    ws.once("error", reject)
  })
  ws.send(JSON.stringify({ type: "session.start" }))
  return ws
}
try {
  const sockets = await Promise.all(Array.from({ length: clients }, (_, i) => open(i)))
  await new Promise((resolve) => setTimeout(resolve, 2000))
  measuring = true
  const main0 = mainThreadMs()
  const all0 = server.cpuMs()
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000))
  measuring = false
  const main1 = mainThreadMs()
  const all1 = server.cpuMs()
  stopping = true
  const per = (ms: number) => (turns === 0 ? "n/a" : ((ms * 1000) / turns).toFixed(0))
  console.log(
    `${turns} turns in ${seconds} s (${(turns / seconds).toFixed(0)}/s, ${clients} clients): ` +
      `${per(main1 - main0)} µs of main-thread CPU per turn, ${per(all1 - all0)} µs for the whole process`
  )
  for (const ws of sockets) ws.close()
} finally {
  await server.stop()
}

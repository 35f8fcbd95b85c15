// The deployment files: the PM2 process file's timeouts and limits; the nginx site, read and, where nginx and
// openssl are installed, run in front of a real server (TLS with a throwaway certificate, a WSS session through it,
// no token in its access log); and docs/operations.md naming every metric and alert.
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it } from "vitest"
import WebSocket from "ws"
import { parse } from "yaml"
import type { ServerEvent } from "../../src/domain/Protocol.ts"
import * as Metrics from "../../src/observability/Metrics.ts"
import { startServer, type TestServer, token } from "../support/TestServer.ts"

const Root = fileURLToPath(new URL("../../", import.meta.url))
const read = (path: string) => readFileSync(join(Root, path), "utf8")

interface Pm2App {
  readonly name: string
  readonly script: string
  readonly exec_mode: string
  readonly node_args?: ReadonlyArray<string>
  readonly instances: number
  readonly kill_timeout: number
  readonly max_memory_restart: string
  readonly env: Record<string, string>
}

describe("ecosystem.config.cjs", () => {
  const apps = (createRequire(import.meta.url)(join(Root, "ecosystem.config.cjs")) as { apps: Array<Pm2App> }).apps

  it("one forked instance per port, kill_timeout beyond the drain, memory limit told to the server", () => {
    expect(apps.length).toBeGreaterThan(0)
    expect(new Set(apps.map((a) => a.env.STREAM_WS_PORT)).size).toBe(apps.length)
    for (const app of apps) {
      expect(app.script).toBe("src/main.ts")
      expect(app.exec_mode).toBe("fork")
      expect(app.instances).toBe(1)
      expect(app.env.NODE_ENV).toBe("production")
      const grace = Number(app.env.STREAM_SHUTDOWN_GRACE_MS)
      expect(app.kill_timeout).toBeGreaterThan(3 * grace)
      expect(app.max_memory_restart).toBe(`${app.env.STREAM_MEMORY_LIMIT_MB}M`)
    }
  })

  it("runs the server with the Node flags of `npm start`, as the Dockerfile and the scale-out script do (decision 37)", () => {
    const { scripts } = JSON.parse(read("package.json")) as { scripts: { start: string; dev: string } }
    const start = scripts.start.split(" ")
    const flags = start.filter((word) => word.startsWith("--"))
    expect(flags).toContain("--max-semi-space-size=16")
    expect(start).toEqual(["node", ...flags, "src/main.ts"])
    expect(scripts.dev.split(" ")).toEqual(["node", ...flags, "--watch", "src/main.ts"])
    const cmd = read("Dockerfile")
      .split("\n")
      .find((line) => line.startsWith("CMD "))!
    expect(JSON.parse(cmd.slice(4))).toEqual(["node", ...flags, "src/main.ts"])
    for (const app of apps) expect(app.node_args).toEqual(flags)
    const launch = read("deploy/scale-out/run-two.sh")
      .split("\n")
      .find((line) => line.includes("src/main.ts"))!
    const words = launch.trim().split(/\s+/)
    expect(words.slice(words.indexOf("node"), words.indexOf("src/main.ts") + 1)).toEqual([
      "node",
      ...flags,
      "src/main.ts"
    ])
  })
})

const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer()
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number }
      probe.close(() => resolve(port))
    })
  })

/** Where a command is: on PATH, or in the sbin folders a non-root PATH often lacks (Debian puts nginx there). */
const locate = (command: string): string | undefined => {
  const found = spawnSync(
    "sh",
    ["-c", `command -v ${command} || ls /usr/sbin/${command} /sbin/${command} 2>/dev/null`],
    {
      encoding: "utf8"
    }
  )
  const path = found.stdout.split("\n")[0]?.trim()
  return path !== undefined && path.length > 0 ? path : undefined
}
const installed = (command: string) => locate(command) !== undefined

describe("deploy/nginx/voice-stream.conf", () => {
  const site = read("deploy/nginx/voice-stream.conf")
  const streamBlock = /location = \/v1\/stream \{([\s\S]*?)\n {4}\}/.exec(site)?.[1] ?? ""

  it("upgrades /v1/stream to a WebSocket with long timeouts and forwarded addresses, behind TLS", () => {
    expect(site).toContain("map $http_upgrade $connection_upgrade")
    expect(streamBlock).toContain("proxy_http_version 1.1;")
    expect(streamBlock).toContain("proxy_set_header Upgrade $http_upgrade;")
    expect(streamBlock).toContain("proxy_set_header Connection $connection_upgrade;")
    expect(streamBlock).toContain("proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;")
    for (const directive of ["proxy_read_timeout", "proxy_send_timeout"]) {
      const seconds = Number(new RegExp(`${directive} (\\d+)s;`).exec(streamBlock)?.[1])
      expect(seconds, directive).toBeGreaterThanOrEqual(3600)
    }
    expect(site).toMatch(/listen 443 ssl;/)
    expect(site).toMatch(/ssl_certificate +\/etc\/letsencrypt\/live\/voice\.example\.com\/fullchain\.pem;/)
    // The upstream is the port the PM2 file runs.
    expect(site).toContain("server 127.0.0.1:3001")
  })

  const nginxPath = locate("nginx")
  const live = nginxPath !== undefined && installed("openssl")
  let nginx: ChildProcess | undefined
  let server: TestServer | undefined
  afterAll(async () => {
    nginx?.kill("SIGTERM")
    await server?.stop()
  })

  it.skipIf(!live)(
    "nginx accepts it and proxies a WSS session to a real server, logging no token (skipped without nginx and openssl)",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "vs-nginx-"))
      execFileSync(
        "openssl",
        [
          ...["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=voice.example.com"],
          ...["-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")]
        ],
        { stdio: "ignore" }
      )
      server = await startServer()
      const upstream = new URL(server.httpUrl).port
      const [tlsPort, plainPort] = [await freePort(), await freePort()]
      const adapted = site
        .replace(/ssl_certificate +\S+;/, `ssl_certificate ${join(dir, "cert.pem")};`)
        .replace(/ssl_certificate_key +\S+;/, `ssl_certificate_key ${join(dir, "key.pem")};`)
        .replace("server 127.0.0.1:3001", `server 127.0.0.1:${upstream}`)
        .replace("listen 443 ssl;", `listen 127.0.0.1:${tlsPort} ssl;`)
        .replace("listen 80;", `listen 127.0.0.1:${plainPort};`)
        .replace(/\n\s*listen \[::\]:\d+( ssl)?;/g, "")
        .replaceAll("/var/log/nginx/", `${dir}/`)
      writeFileSync(join(dir, "site.conf"), adapted)
      writeFileSync(
        join(dir, "nginx.conf"),
        `pid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\nevents {}\nhttp {\n  access_log off;\n` +
          `  client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir};` +
          ` scgi_temp_path ${dir};\n  include ${dir}/site.conf;\n}\n`
      )
      const check = spawnSync(nginxPath!, ["-t", "-p", dir, "-c", join(dir, "nginx.conf")], { encoding: "utf8" })
      expect(check.status, check.stderr).toBe(0)
      nginx = spawn(nginxPath!, ["-p", dir, "-c", join(dir, "nginx.conf"), "-g", "daemon off;"], { stdio: "ignore" })
      const base = `127.0.0.1:${tlsPort}`
      for (let i = 0; i < 100; i++) {
        const up = await new Promise<boolean>((resolve) => {
          const probe = createServer().once("error", () => resolve(true))
          probe.listen(tlsPort, "127.0.0.1", () => probe.close(() => resolve(false)))
        })
        if (up) break
        await new Promise((resolve) => setTimeout(resolve, 50))
      }

      const jwt = await token("proxied-user")
      const ws = new WebSocket(`wss://${base}/v1/stream?token=${jwt}`, { rejectUnauthorized: false })
      const events: Array<ServerEvent> = []
      const done = new Promise<Extract<ServerEvent, { type: "response.done" }>>((resolve, reject) => {
        ws.on("message", (data, binary) => {
          if (binary) return
          const event = JSON.parse(data.toString()) as ServerEvent
          events.push(event)
          if (event.type === "session.started") ws.send(JSON.stringify({ type: "input.text", text: "bitcoin?" }))
          if (event.type === "response.done") resolve(event)
        })
        ws.once("error", reject)
        ws.once("unexpected-response", (_req, res) => reject(new Error(`proxy answered ${res.statusCode}`)))
      })
      ws.once("open", () => ws.send(JSON.stringify({ type: "session.start" })))
      expect((await done).latency.totalMs).toBeGreaterThan(0)
      ws.close(1000)
      await new Promise((resolve) => ws.once("close", resolve))

      const log = readFileSync(join(dir, "voice-stream.access.log"), "utf8")
      expect(log).toContain('GET /v1/stream HTTP/1.1" 101')
      expect(log).not.toContain(jwt)
      expect(log).not.toContain("token=")
    }
  )
})

describe("docs/operations.md", () => {
  const doc = read("docs/operations.md")

  it("names every metric and every alert", () => {
    for (const value of Object.values(Metrics)) {
      if (typeof value === "object" && value !== null && "id" in value)
        expect(doc, String(value.id)).toContain(value.id)
    }
    const alerts = parse(read("deploy/prometheus/alerts.yml")) as { groups: Array<{ rules: Array<{ alert: string }> }> }
    for (const rule of alerts.groups.flatMap((g) => g.rules)) expect(doc, rule.alert).toContain(rule.alert)
  })

  it("covers deploying, health checks, metrics, alerts, troubleshooting, shutdown and backups", () => {
    for (const heading of [
      "## Deploy",
      "## Health checks",
      "## Metrics",
      "## Tracing",
      "## Alerts",
      "## Troubleshooting",
      "## Shutdown",
      "## Backups"
    ]) {
      expect(doc).toContain(heading)
    }
    for (const status of ["401", "403", "426", "429", "503"]) expect(doc).toContain(status)
  })
})

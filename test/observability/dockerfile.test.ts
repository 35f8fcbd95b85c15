// The Dockerfile's build and start steps, run without a container engine: its instructions are read, each stage's
// COPY (honouring .dockerignore) and RUN commands are carried out in a clean temporary folder standing for that
// stage's filesystem, then the runtime stage's CMD starts on a free port until /healthz answers, the HEALTHCHECK
// command passes, and SIGTERM stops it with status 0.
import { type ChildProcess, spawn } from "node:child_process"
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { dirname, join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it } from "vitest"

const Root = fileURLToPath(new URL("../../", import.meta.url))

interface Instruction {
  readonly op: string
  readonly args: string
}

/** Dockerfile lines with continuations joined, comments and blank lines dropped. */
const readInstructions = (text: string): Array<Instruction> => {
  const logical: Array<string> = []
  let current = ""
  for (const line of text.split("\n")) {
    if (current === "" && /^\s*(#.*)?$/.test(line)) continue
    if (current !== "" && /^\s*#/.test(line)) continue
    if (line.endsWith("\\")) current += `${line.slice(0, -1)} `
    else {
      logical.push(current + line)
      current = ""
    }
  }
  return logical.map((line) => {
    const match = /^\s*(\S+)\s*(.*)$/.exec(line)!
    return { op: match[1]!.toUpperCase(), args: match[2]!.trim() }
  })
}

/** .dockerignore rules: the last matching pattern decides; a pattern also covers everything under a matched dir. */
const ignoreRules = (text: string) =>
  text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.startsWith("#"))
    .map((pattern) => {
      const negate = pattern.startsWith("!")
      const body = (negate ? pattern.slice(1) : pattern).replace(/^\/+|\/+$/g, "")
      const regex = body
        .split("**")
        .map((part) =>
          part
            .replace(/[.+^${}()|[\]\\]/g, "\\$&")
            .replace(/\*/g, "[^/]*")
            .replace(/\?/g, "[^/]")
        )
        .join(".*")
      return { negate, regex: new RegExp(`^${regex}(/.*)?$`) }
    })

const isIgnored = (rules: ReturnType<typeof ignoreRules>, path: string) => {
  let ignored = false
  for (const rule of rules) if (rule.regex.test(path)) ignored = !rule.negate
  return ignored
}

/** Copies `source` (file or folder) to `target`, skipping what the context excludes. */
const copyTree = (source: string, target: string, skip: (path: string) => boolean) => {
  if (skip(source)) return
  if (statSync(source).isDirectory()) {
    mkdirSync(target, { recursive: true })
    for (const entry of readdirSync(source)) copyTree(join(source, entry), join(target, entry), skip)
  } else {
    mkdirSync(dirname(target), { recursive: true })
    cpSync(source, target)
  }
}

const run = (command: string, cwd: string, env: NodeJS.ProcessEnv) =>
  new Promise<void>((resolve, reject) => {
    const child = spawn("sh", ["-c", command], { cwd, env, stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString()
    })
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString()
    })
    child.once("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`RUN ${command} exited ${code}:\n${output.slice(-4000)}`))
    )
  })

const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer()
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address() as { port: number }
      probe.close(() => resolve(address.port))
    })
  })

interface Stage {
  readonly name: string
  readonly root: string
  workdir: string
  env: Record<string, string>
  cmd: Array<string> | undefined
  healthcheck: Array<string> | undefined
}

/** Carries out the Dockerfile's stages in `workspace`; returns them by name. */
const build = async (workspace: string) => {
  const instructions = readInstructions(readFileSync(join(Root, "Dockerfile"), "utf8"))
  const rules = ignoreRules(readFileSync(join(Root, ".dockerignore"), "utf8"))
  const skip = (path: string) => isIgnored(rules, relative(Root, path))
  const stages: Array<Stage> = []
  const steps: Array<string> = []
  // Node 24 of this test run first on PATH; npm's cache (the build's --mount=type=cache) is this machine's.
  const hostEnv = {
    ...process.env,
    PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ""}`,
    npm_config_prefer_offline: "true",
    npm_config_update_notifier: "false"
  }
  for (const { op, args } of instructions) {
    const stage = stages.at(-1)
    const inStage = (path: string) => join(stage!.root, path.startsWith("/") ? path : join(stage!.workdir, path))
    switch (op) {
      case "FROM": {
        const [image, , name] = args.split(/\s+/)
        expect(image).toBe("node:24-slim")
        const root = join(workspace, String(stages.length))
        mkdirSync(root)
        stages.push({
          name: name ?? String(stages.length),
          root,
          workdir: "/",
          env: {},
          cmd: undefined,
          healthcheck: undefined
        })
        break
      }
      case "WORKDIR":
        stage!.workdir = args
        mkdirSync(inStage("."), { recursive: true })
        break
      case "ENV":
        for (const [, key, value] of args.matchAll(/(\w+)=(\S+)/g)) stage!.env[key!] = value!
        break
      case "COPY": {
        const from = /--from=(\S+)/.exec(args)?.[1]
        const paths = args.replace(/--\S+/g, "").trim().split(/\s+/)
        const target = paths.pop()!
        for (const source of paths.flatMap((p) =>
          p === "package*.json" ? ["package.json", "package-lock.json"] : [p]
        )) {
          const origin =
            from === undefined ? join(Root, source) : join(stages.find((s) => s.name === from)!.root, source)
          const destination = target.endsWith("/") ? join(inStage(target), source.split("/").at(-1)!) : inStage(target)
          copyTree(origin, destination, from === undefined ? skip : () => false)
        }
        steps.push(`COPY ${args}`)
        break
      }
      case "RUN": {
        const command = args.replace(/--mount=\S+\s*/g, "")
        // Creating /data and giving it to the image's user is the one step that needs the image's root and users.
        if (command.includes("/data")) {
          steps.push(`RUN (skipped here) ${command}`)
          break
        }
        await run(command, inStage("."), { ...hostEnv, ...stage!.env })
        steps.push(`RUN ${command}`)
        break
      }
      case "CMD":
        stage!.cmd = JSON.parse(args)
        break
      case "HEALTHCHECK":
        stage!.healthcheck = JSON.parse(args.slice(args.indexOf("CMD") + 3).trim())
        break
      default:
        break
    }
  }
  return { stages, steps, instructions, hostEnv }
}

describe("Dockerfile", () => {
  const workspace = mkdtempSync(join(tmpdir(), "vs-docker-"))
  let server: ChildProcess | undefined
  afterAll(() => {
    server?.kill("SIGKILL")
    rmSync(workspace, { recursive: true, force: true })
  })

  it("declares a two-stage node:24-slim build, a non-root user, a volume, a health check and an exec-form CMD", () => {
    const instructions = readInstructions(readFileSync(join(Root, "Dockerfile"), "utf8"))
    const ops = (op: string) => instructions.filter((i) => i.op === op).map((i) => i.args)
    expect(ops("FROM")).toEqual(["node:24-slim AS build", "node:24-slim AS runtime"])
    expect(ops("USER")).toEqual(["node"])
    expect(ops("VOLUME")).toEqual(['["/data"]'])
    expect(ops("CMD")).toEqual(['["node", "--max-semi-space-size=16", "src/main.ts"]'])
    expect(ops("STOPSIGNAL")).toEqual(["SIGTERM"])
    expect(ops("HEALTHCHECK")[0]).toContain("/healthz")
    expect(ops("RUN").some((r) => r.includes("npm ci --omit=dev"))).toBe(true)
    expect(ops("RUN").some((r) => r.includes("tsc -p"))).toBe(true)
  })

  it("builds and starts in a clean folder: /healthz answers, the HEALTHCHECK passes, SIGTERM exits 0", async () => {
    const { stages, steps, hostEnv } = await build(workspace)
    const runtime = stages.at(-1)!
    const app = join(runtime.root, runtime.workdir)
    expect(steps.filter((s) => s.startsWith("RUN npm ci")).length).toBe(2)
    // Production dependencies only, the sources the build stage typechecked, and nothing of the test suite.
    expect(existsSync(join(app, "node_modules/effect"))).toBe(true)
    expect(existsSync(join(app, "node_modules/vitest"))).toBe(false)
    expect(existsSync(join(app, "node_modules/typescript"))).toBe(false)
    expect(existsSync(join(app, "src/main.ts"))).toBe(true)
    expect(existsSync(join(app, "sql"))).toBe(true)
    expect(existsSync(join(app, "test"))).toBe(false)
    expect(existsSync(join(app, ".env"))).toBe(false)

    const port = await freePort()
    const env = {
      PATH: hostEnv.PATH,
      HOME: tmpdir(),
      ...runtime.env,
      STREAM_WS_PORT: String(port),
      STREAM_HOST: "127.0.0.1",
      STREAM_DATA_DIR: join(workspace, "data"),
      JWT_SECRET: "docker-test-secret-0123456789abcdef-0123",
      STREAM_CORS_ORIGIN: "https://app.example.com",
      STREAM_LOG_LEVEL: "warn"
    }
    expect(runtime.env.NODE_ENV).toBe("production")
    const [command, ...args] = runtime.cmd!
    expect(command).toBe("node")
    server = spawn(process.execPath, args, { cwd: app, env, stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    server.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString()
    })
    server.stderr!.on("data", (chunk: Buffer) => {
      output += chunk.toString()
    })
    const exited = new Promise<number | null>((resolve) => server!.once("exit", (code) => resolve(code)))
    const deadline = Date.now() + 60_000
    let healthy = false
    while (!healthy && Date.now() < deadline) {
      healthy = await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => r.status === 200,
        () => false
      )
      if (!healthy) await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect(healthy, output).toBe(true)

    const [checkCommand, ...checkArgs] = runtime.healthcheck!
    expect(checkCommand).toBe("node")
    await new Promise<void>((resolve, reject) => {
      const check = spawn(process.execPath, checkArgs, { env, stdio: "ignore" })
      check.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`HEALTHCHECK exited ${code}`))))
    })

    server.kill("SIGTERM")
    expect(await exited).toBe(0)
    server = undefined
  }, 300_000)
})

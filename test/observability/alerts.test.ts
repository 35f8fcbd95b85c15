// deploy/prometheus/alerts.yml: parsed as YAML (the `yaml` package), each rule well-formed, and every metric and
// label value its expressions select present in GET /metrics of a real server after a scripted session. The Grafana
// dashboard (deploy/grafana/voice-stream.json) is held to the same.
import { spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { parse } from "yaml"
import { connect, isRefused, openSession, startServer, type TestServer } from "../support/TestServer.ts"
import { type Sample, scrape } from "./Prometheus.ts"

const AlertsFile = fileURLToPath(new URL("../../deploy/prometheus/alerts.yml", import.meta.url))
const DashboardFile = fileURLToPath(new URL("../../deploy/grafana/voice-stream.json", import.meta.url))

interface Rule {
  readonly alert?: unknown
  readonly expr?: unknown
  readonly for?: unknown
  readonly labels?: Record<string, unknown>
  readonly annotations?: Record<string, unknown>
}

/** Aggregation operators (written before `by`/`without`, so not always followed by a parenthesis) and keywords. */
const Keywords = new Set(
  "sum avg min max count group stddev stdvar topk bottomk quantile by without on ignoring group_left group_right bool and or unless offset".split(
    " "
  )
)
const LabelListKeywords = new Set(["by", "without", "on", "ignoring", "group_left", "group_right"])

interface Selector {
  readonly metric: string
  readonly matchers: ReadonlyArray<{ readonly label: string; readonly op: string; readonly value: string }>
}

/**
 * The series selectors of a PromQL expression: metric names (identifiers not called as functions, not keywords,
 * not in a by/without/on label list) with their label matchers. Range and offset durations are skipped.
 */
const selectorsOf = (expr: string): Array<Selector> => {
  const tokens =
    expr.match(
      /"(?:[^"\\]|\\.)*"|\[[^\]]*\]|=~|!~|!=|==|>=|<=|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|[a-zA-Z_:][a-zA-Z0-9_:]*|\S/g
    ) ?? []
  const selectors: Array<Selector> = []
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!
    if (LabelListKeywords.has(token) && tokens[i + 1] === "(") {
      while (tokens[i] !== ")") i++
      continue
    }
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(token) || Keywords.has(token) || tokens[i + 1] === "(") continue
    const matchers: Array<{ label: string; op: string; value: string }> = []
    if (tokens[i + 1] === "{") {
      i += 2
      while (tokens[i] !== "}") {
        const [label, op, value] = [tokens[i]!, tokens[i + 1]!, tokens[i + 2]!]
        matchers.push({ label, op, value: JSON.parse(value) as string })
        i += tokens[i + 3] === "," ? 4 : 3
      }
    }
    selectors.push({ metric: token, matchers })
  }
  return selectors
}

const matches = (sample: Sample, selector: Selector) =>
  sample.name === selector.metric &&
  selector.matchers.every(({ label, op, value }) => {
    const actual = sample.labels[label] ?? ""
    if (op === "=") return actual === value
    if (op === "!=") return actual !== value
    if (op === "=~") return new RegExp(`^(?:${value})$`).test(actual)
    return !new RegExp(`^(?:${value})$`).test(actual)
  })

describe("deploy/prometheus/alerts.yml", () => {
  const file = parse(readFileSync(AlertsFile, "utf8")) as { groups: Array<{ name: string; rules: Array<Rule> }> }
  const rules = file.groups.flatMap((group) => group.rules)
  let server: TestServer
  let samples: ReadonlyArray<Sample>

  beforeAll(async () => {
    server = await startServer()
    // A scripted session: a refused upgrade, a bad message and a typed turn.
    const refused = await connect(server.url)
    expect(isRefused(refused)).toBe(true)
    const client = await openSession(server, "alerts-user")
    client.ws.send("not json")
    client.send({ type: "input.text", text: "how is bitcoin doing?" })
    await client.waitForEvent("response.done")
    await client.close()
    samples = (await scrape(server.httpUrl)).samples
  })
  afterAll(() => server.stop())

  it("has the checklist's alerts, each with expr, for, severity, summary and description", () => {
    expect(file.groups.map((g) => g.name)).toEqual(["voice-stream"])
    const names = rules.map((r) => r.alert)
    expect(new Set(names).size).toBe(names.length)
    for (const required of [
      "VoiceStreamHighErrorRate",
      "VoiceStreamSlowTurns",
      "VoiceStreamHighMemory",
      "VoiceStreamLlmQuotaNearLimit",
      "VoiceStreamSttQuotaNearLimit",
      "VoiceStreamTtsQuotaNearLimit",
      "VoiceStreamProviderRateLimited",
      "VoiceStreamWebSocketFailures",
      "VoiceStreamRateLimitHits"
    ]) {
      expect(names).toContain(required)
    }
    for (const rule of rules) {
      expect(typeof rule.alert).toBe("string")
      expect(typeof rule.expr).toBe("string")
      expect(String(rule.for)).toMatch(/^\d+[smhd]$/)
      expect(["page", "warning"]).toContain(rule.labels?.severity)
      expect(typeof rule.annotations?.summary).toBe("string")
      expect(typeof rule.annotations?.description).toBe("string")
    }
  })

  it("the thresholds the checklist names: 5 % errors, 10 s average turn, 80 % memory", () => {
    const expr = (name: string) => String(rules.find((r) => r.alert === name)?.expr)
    expect(expr("VoiceStreamHighErrorRate")).toMatch(/> 0\.05\s*$/)
    expect(expr("VoiceStreamSlowTurns")).toMatch(/stage="total"[\s\S]*> 10\s*$/)
    expect(expr("VoiceStreamHighMemory")).toMatch(/voice_stream_process_memory_limit_bytes > 0\.8\s*$/)
    expect(expr("VoiceStreamRateLimitHits")).toContain('reason="rate_limited"')
  })

  it("every metric an expression names exists in /metrics, with the label values it selects", () => {
    let checked = 0
    for (const rule of rules) {
      const selectors = selectorsOf(String(rule.expr))
      expect(selectors.length, String(rule.alert)).toBeGreaterThan(0)
      for (const selector of selectors) {
        expect(selector.metric.startsWith("voice_stream_"), `${rule.alert}: ${selector.metric}`).toBe(true)
        const found = samples.filter((s) => matches(s, selector))
        expect(found.length, `${rule.alert}: ${selector.metric}${JSON.stringify(selector.matchers)}`).toBeGreaterThan(0)
        checked++
      }
    }
    expect(checked).toBeGreaterThanOrEqual(rules.length)
  })

  const promtool = spawnSync("sh", ["-c", "command -v promtool"]).status === 0
  it.skipIf(!promtool)("promtool check rules accepts it (where Prometheus' promtool is installed)", () => {
    const check = spawnSync("promtool", ["check", "rules", AlertsFile], { encoding: "utf8" })
    expect(check.status, check.stdout + check.stderr).toBe(0)
  })

  it("every query of the Grafana dashboard selects metrics and label values that exist", () => {
    const dashboard = JSON.parse(readFileSync(DashboardFile, "utf8")) as {
      panels: Array<{ title: string; targets: Array<{ expr: string }> }>
    }
    expect(dashboard.panels.length).toBeGreaterThan(10)
    for (const panel of dashboard.panels) {
      for (const target of panel.targets) {
        const selectors = selectorsOf(target.expr)
        expect(selectors.length, panel.title).toBeGreaterThan(0)
        for (const selector of selectors) {
          const found = samples.filter((s) => matches(s, selector))
          expect(found.length, `${panel.title}: ${selector.metric}`).toBeGreaterThan(0)
        }
      }
    }
  })

  it("the selector reader finds metrics, not functions, keywords, label lists or durations", () => {
    expect(
      selectorsOf('sum by (instance, provider) (rate(a_total{x="1",y=~"b|c"}[5m])) / on (job) b > 4e6 or c_bytes')
    ).toEqual([
      {
        metric: "a_total",
        matchers: [
          { label: "x", op: "=", value: "1" },
          { label: "y", op: "=~", value: "b|c" }
        ]
      },
      { metric: "b", matchers: [] },
      { metric: "c_bytes", matchers: [] }
    ])
  })
})

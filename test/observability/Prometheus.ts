// A strict parser of the Prometheus text exposition format (0.0.4) for tests: HELP and TYPE lines, samples with
// escaped label values, special float values; it rejects what a Prometheus server would refuse (a sample before its
// TYPE, a family declared twice, a malformed line, histogram buckets that are not cumulative or lack +Inf).

export interface Sample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

export interface Family {
  readonly name: string
  type: string
  help: string | undefined
  readonly samples: Array<Sample>
}

const MetricName = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LabelName = /^[a-zA-Z_][a-zA-Z0-9_]*$/
const Types = ["counter", "gauge", "histogram", "summary", "untyped"]

const parseValue = (text: string, line: number): number => {
  if (text === "+Inf") return Number.POSITIVE_INFINITY
  if (text === "-Inf") return Number.NEGATIVE_INFINITY
  if (text === "NaN") return Number.NaN
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) throw new Error(`line ${line}: bad value ${text}`)
  return Number(text)
}

/** Reads `{a="x",b="y"}` starting at `at` (the brace); returns the labels and the index after the closing brace. */
const parseLabels = (text: string, at: number, line: number) => {
  const labels: Record<string, string> = {}
  let i = at + 1
  while (text[i] !== "}") {
    const eq = text.indexOf("=", i)
    if (eq < 0) throw new Error(`line ${line}: label without =`)
    const name = text.slice(i, eq).trim()
    if (!LabelName.test(name)) throw new Error(`line ${line}: bad label name ${name}`)
    if (name in labels) throw new Error(`line ${line}: label ${name} repeated`)
    if (text[eq + 1] !== '"') throw new Error(`line ${line}: label value must be quoted`)
    let value = ""
    let j = eq + 2
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] === "\\") {
        const next = text[++j]
        if (next === "n") value += "\n"
        else if (next === "\\" || next === '"') value += next
        else throw new Error(`line ${line}: bad escape \\${next}`)
      } else value += text[j]
    }
    if (j >= text.length) throw new Error(`line ${line}: unterminated label value`)
    labels[name] = value
    i = j + 1
    if (text[i] === ",") i++
    else if (text[i] !== "}") throw new Error(`line ${line}: expected , or } after a label`)
  }
  return { labels, end: i + 1 }
}

const familyOf = (families: Map<string, Family>, sampleName: string): Family | undefined => {
  const direct = families.get(sampleName)
  if (direct !== undefined) return direct
  const base = sampleName.replace(/_(bucket|sum|count)$/, "")
  const family = families.get(base)
  return family !== undefined && (family.type === "histogram" || family.type === "summary") ? family : undefined
}

export const parsePrometheus = (text: string) => {
  const families = new Map<string, Family>()
  const samples: Array<Sample> = []
  if (text.length > 0 && !text.endsWith("\n")) throw new Error("the exposition must end with a newline")
  text.split("\n").forEach((raw, index) => {
    const line = index + 1
    if (raw.trim().length === 0) return
    if (raw.startsWith("#")) {
      const match = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(raw)
      if (match === null) return
      const [, kind, name, rest] = match as unknown as [string, string, string, string]
      if (!MetricName.test(name)) throw new Error(`line ${line}: bad metric name ${name}`)
      const family = families.get(name) ?? { name, type: "untyped", help: undefined, samples: [] }
      families.set(name, family)
      if (kind === "TYPE") {
        if (!Types.includes(rest)) throw new Error(`line ${line}: unknown type ${rest}`)
        if (family.samples.length > 0 || family.type !== "untyped")
          throw new Error(`line ${line}: TYPE of ${name} late or twice`)
        family.type = rest
      } else {
        if (family.help !== undefined) throw new Error(`line ${line}: HELP of ${name} twice`)
        family.help = rest
      }
      return
    }
    const nameEnd = raw.search(/[{\s]/)
    const name = nameEnd < 0 ? raw : raw.slice(0, nameEnd)
    if (!MetricName.test(name)) throw new Error(`line ${line}: bad sample name ${name}`)
    let rest = raw.slice(name.length)
    let labels: Record<string, string> = {}
    if (rest.startsWith("{")) {
      const parsed = parseLabels(raw, name.length, line)
      labels = parsed.labels
      rest = raw.slice(parsed.end)
    }
    const parts = rest.trim().split(/\s+/)
    if (parts.length < 1 || parts.length > 2 || parts[0] === "") throw new Error(`line ${line}: expected a value`)
    const sample: Sample = { name, labels, value: parseValue(parts[0]!, line) }
    const family = familyOf(families, name)
    if (family === undefined) throw new Error(`line ${line}: sample ${name} has no TYPE before it`)
    family.samples.push(sample)
    samples.push(sample)
  })
  for (const family of families.values()) if (family.type === "histogram") checkHistogram(family)
  return { families, samples }
}

/** Buckets cumulative, ending in le="+Inf" equal to _count, for every label set. */
const checkHistogram = (family: Family) => {
  const series = new Map<string, Array<Sample>>()
  for (const sample of family.samples) {
    const { le: _le, ...rest } = sample.labels
    const key = JSON.stringify(rest)
    series.set(key, [...(series.get(key) ?? []), sample])
  }
  for (const [key, list] of series) {
    const buckets = list.filter((s) => s.name === `${family.name}_bucket`)
    const count = list.find((s) => s.name === `${family.name}_count`)
    if (list.find((s) => s.name === `${family.name}_sum`) === undefined || count === undefined) {
      throw new Error(`${family.name}${key}: _sum or _count missing`)
    }
    let previous = 0
    let previousLe = Number.NEGATIVE_INFINITY
    for (const bucket of buckets) {
      const le = parseValue(bucket.labels.le ?? "", 0)
      if (le <= previousLe || bucket.value < previous) throw new Error(`${family.name}${key}: buckets not cumulative`)
      previous = bucket.value
      previousLe = le
    }
    if (previousLe !== Number.POSITIVE_INFINITY || previous !== count.value) {
      throw new Error(`${family.name}${key}: the +Inf bucket must equal _count`)
    }
  }
}

/** The value of the one sample named `name` whose labels include `labels`. */
export const sampleValue = (samples: ReadonlyArray<Sample>, name: string, labels: Record<string, string> = {}) => {
  const found = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([key, value]) => s.labels[key] === value)
  )
  if (found.length !== 1) throw new Error(`${found.length} samples of ${name}${JSON.stringify(labels)}`)
  return found[0]!.value
}

/** GET /metrics of a server, parsed (and so validated). */
export const scrape = async (httpUrl: string, headers: Record<string, string> = {}) => {
  const response = await fetch(`${httpUrl}/metrics`, { headers })
  if (response.status !== 200) throw new Error(`GET /metrics answered ${response.status}`)
  const text = await response.text()
  return { text, contentType: response.headers.get("content-type"), ...parsePrometheus(text) }
}

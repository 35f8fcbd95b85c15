// Small statistics helpers for the benchmark: percentiles, medians and least-squares slopes.

/** The p-th percentile (0–100) by nearest rank; NaN for an empty list. */
export const percentile = (values: ReadonlyArray<number>, p: number): number => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank]!
}

export const median = (values: ReadonlyArray<number>): number => percentile(values, 50)

/** Slope of the least-squares line through (x, y) points; NaN with fewer than two distinct x. */
export const slope = (points: ReadonlyArray<readonly [number, number]>): number => {
  const n = points.length
  if (n < 2) return Number.NaN
  const mx = points.reduce((s, [x]) => s + x, 0) / n
  const my = points.reduce((s, [, y]) => s + y, 0) / n
  let num = 0
  let den = 0
  for (const [x, y] of points) {
    num += (x - mx) * (y - my)
    den += (x - mx) ** 2
  }
  return den === 0 ? Number.NaN : num / den
}

/** Rounds to `digits` decimals, keeping NaN as null so JSON stays valid. */
export const round = (value: number, digits = 1): number | null =>
  Number.isFinite(value) ? Math.round(value * 10 ** digits) / 10 ** digits : null

/** p50, p99 and max of a list, rounded. */
export const summary = (values: ReadonlyArray<number>) => ({
  count: values.length,
  p50: round(percentile(values, 50), 2),
  p99: round(percentile(values, 99), 2),
  max: round(values.length === 0 ? Number.NaN : Math.max(...values), 2)
})

// Fixed-window counters in memory, one per key, for the limits of one instance and the fail-open fallback of the
// shared ones. Counters whose window has ended are forgotten (swept at most once per window), so a server that meets
// millions of users and addresses over its life does not keep a counter for each (Effect's in-memory RateLimiter
// store never deletes its keys).
import type { RateLimit } from "../config/ProtectionSettings.ts"

export class MemoryWindows {
  private readonly windows = new Map<string, { count: number; endsAt: number }>()
  private nextSweepAt = Number.NEGATIVE_INFINITY

  /** Counts one event for `key` at `now` (ms): 0 when allowed, else the ms until its window ends. */
  take(key: string, limit: RateLimit, now: number): number {
    this.sweep(now, limit.windowMs)
    let window = this.windows.get(key)
    if (window === undefined || window.endsAt <= now) {
      window = { count: 0, endsAt: now + limit.windowMs }
      this.windows.set(key, window)
    }
    if (window.count >= limit.max) return window.endsAt - now
    window.count++
    return 0
  }

  /** Counters held (those of keys seen in their current window, and ended ones not swept yet). */
  get size(): number {
    return this.windows.size
  }

  private sweep(now: number, windowMs: number) {
    if (now < this.nextSweepAt) return
    this.nextSweepAt = now + windowMs
    for (const [key, window] of this.windows) if (window.endsAt <= now) this.windows.delete(key)
  }
}

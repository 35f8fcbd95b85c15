// Counts a client's bad messages over a sliding window, to tell a mistake from a flood.

export class BadMessageWindow {
  private readonly times: Array<number> = []
  private readonly limit: number
  private readonly windowMs: number

  constructor(limit: number, windowMs: number) {
    this.limit = limit
    this.windowMs = windowMs
  }

  /** Records a bad message at `now`; true when more than `limit` fell inside the window. */
  hit(now: number): boolean {
    this.times.push(now)
    while (this.times.length > 0 && this.times[0]! <= now - this.windowMs) this.times.shift()
    return this.times.length > this.limit
  }
}

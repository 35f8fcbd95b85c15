// The server's fiber scheduler: one task queue for every fiber, drained until empty (within a bound) each time the
// event loop runs it. Effect's default gives each fiber its own dispatcher and `setImmediate`, so when a fiber wakes
// another (a queue offer, a fork) from inside the check phase, the other runs only in the NEXT turn of the event loop,
// after every socket read and timer due by then: a reply's chain of hops (LLM → sentences → TTS → outbox) waited one
// turn per hop. Here a chain runs to its end in the same turn (decision 38), within 16 rounds and 5 ms per turn.
import { Scheduler } from "effect"

/**
 * Rounds of draining per turn of the event loop, and the time after which no new round starts; past either, the rest
 * waits for the next turn, so timers and sockets are not starved.
 */
export interface TurnBudget {
  readonly maxRounds: number
  readonly maxMs: number
}

export const DefaultTurnBudget: TurnBudget = { maxRounds: 16, maxMs: 5 }

type Task = () => void

class DrainingDispatcher implements Scheduler.SchedulerDispatcher {
  private readonly budget: TurnBudget
  constructor(budget: TurnBudget) {
    this.budget = budget
  }
  /** Tasks by priority, lowest first; FIFO within a priority. */
  private buckets: Array<[number, Array<Task>]> = []
  private scheduled = false
  private running = false

  scheduleTask(task: Task, priority: number) {
    const buckets = this.buckets
    let index = 0
    while (index < buckets.length && buckets[index]![0] < priority) index++
    const bucket = buckets[index]
    if (bucket !== undefined && bucket[0] === priority) bucket[1].push(task)
    else buckets.splice(index, 0, [priority, [task]])
    if (!this.scheduled && !this.running) {
      this.scheduled = true
      setImmediate(this.runTurn)
    }
  }

  private readonly runTurn = () => {
    this.scheduled = false
    this.running = true
    const started = performance.now()
    let failure: { readonly error: unknown } | undefined
    try {
      for (let round = 0; round < this.budget.maxRounds && this.buckets.length > 0; round++) {
        if (round > 0 && performance.now() - started >= this.budget.maxMs) break
        const roundFailure = this.runRound()
        failure ??= roundFailure
      }
    } finally {
      this.running = false
      if (this.buckets.length > 0 && !this.scheduled) {
        this.scheduled = true
        setImmediate(this.runTurn)
      }
    }
    // As with Effect's own dispatcher, a task that throws reaches Node as an uncaught exception; the tasks of every
    // other fiber in its round have run first.
    if (failure !== undefined) throw failure.error
  }

  /** Runs the tasks queued so far (those they queue wait for the next round); returns the first error thrown. */
  private runRound(): { readonly error: unknown } | undefined {
    const buckets = this.buckets
    this.buckets = []
    let failure: { readonly error: unknown } | undefined
    for (const [, tasks] of buckets) {
      for (const task of tasks) {
        try {
          task()
        } catch (error) {
          failure ??= { error }
        }
      }
    }
    return failure
  }

  flush() {
    while (this.buckets.length > 0) {
      const failure = this.runRound()
      if (failure !== undefined) throw failure.error
    }
  }
}

/** Effect's MixedScheduler with one shared, draining dispatcher; the yield policy (operation budget) is Effect's. */
export class DrainingScheduler implements Scheduler.Scheduler {
  readonly executionMode = "async" as const
  private readonly yieldPolicy = new Scheduler.MixedScheduler()
  private readonly dispatcher: DrainingDispatcher
  constructor(budget: TurnBudget = DefaultTurnBudget) {
    this.dispatcher = new DrainingDispatcher(budget)
  }
  shouldYield(fiber: Parameters<Scheduler.Scheduler["shouldYield"]>[0]) {
    return this.yieldPolicy.shouldYield(fiber)
  }
  makeDispatcher() {
    return this.dispatcher
  }
}

// The server's fiber scheduler: one task queue for every fiber, drained until empty (within a bound) each time the
// event loop runs it. Effect's default gives each fiber its own dispatcher and `setImmediate`, so when a fiber wakes
// another (a queue offer, a fork) from inside the check phase, the other runs only in the NEXT turn of the event loop,
// after every socket read and timer due by then: a reply's chain of hops (LLM → sentences → TTS → outbox) waited one
// turn per hop. Here a chain runs to its end in the same turn (decision 38).
import { Scheduler } from "effect"

/** Rounds of draining per turn of the event loop; past it the rest waits for the next turn, so I/O is not starved. */
const MaxRoundsPerTurn = 16

type Task = () => void

class DrainingDispatcher implements Scheduler.SchedulerDispatcher {
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
    try {
      for (let round = 0; round < MaxRoundsPerTurn && this.buckets.length > 0; round++) this.runRound()
    } finally {
      this.running = false
      if (this.buckets.length > 0 && !this.scheduled) {
        this.scheduled = true
        setImmediate(this.runTurn)
      }
    }
  }

  /** Runs the tasks queued so far; those they queue wait for the next round. */
  private runRound() {
    const buckets = this.buckets
    this.buckets = []
    for (const [, tasks] of buckets) for (const task of tasks) task()
  }

  flush() {
    while (this.buckets.length > 0) this.runRound()
  }
}

/** Effect's MixedScheduler with one shared, draining dispatcher; the yield policy (operation budget) is Effect's. */
export class DrainingScheduler implements Scheduler.Scheduler {
  readonly executionMode = "async" as const
  private readonly yieldPolicy = new Scheduler.MixedScheduler()
  private readonly dispatcher = new DrainingDispatcher()
  shouldYield(fiber: Parameters<Scheduler.Scheduler["shouldYield"]>[0]) {
    return this.yieldPolicy.shouldYield(fiber)
  }
  makeDispatcher() {
    return this.dispatcher
  }
}

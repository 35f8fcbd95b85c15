// The server's scheduler (decision 38): a chain of fibers waking one another runs to its end in one turn of the event
// loop, where Effect's default takes a turn per hop; tasks keep their priority and FIFO order; a task that throws
// does not drop the others; and a fiber that never stops yielding still lets timers run. That every fiber of the
// server runs on it is checked end to end in test/integration/server.test.ts.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Queue, Scheduler } from "effect"
import { DrainingScheduler } from "../../src/runtime/DrainingScheduler.ts"

/**
 * Passes a message through `hops` fibers, each waiting on its own queue and offering to the next, and tells whether
 * a `setImmediate` queued when the message set off ran before the last fiber got it (i.e. the event loop turned).
 */
const turnedDuringChain = (hops: number) =>
  Effect.gen(function* () {
    const queues = yield* Effect.forEach(Array.from({ length: hops + 1 }), () => Queue.unbounded<number>())
    for (let i = 0; i < hops; i++) {
      yield* Effect.forkChild(Effect.flatMap(Queue.take(queues[i]!), (n) => Queue.offer(queues[i + 1]!, n + 1)))
    }
    // Let every relay reach its take.
    yield* Effect.yieldNow
    yield* Effect.yieldNow
    let turned = false
    setImmediate(() => {
      turned = true
    })
    yield* Queue.offer(queues[0]!, 0)
    const arrived = yield* Queue.take(queues[hops]!)
    return { arrived, turned }
  })

describe("DrainingScheduler", () => {
  it.live("a chain of fibers waking one another completes within one turn of the event loop", () =>
    Effect.gen(function* () {
      // The time budget out of the way: a loaded machine must not decide this test.
      const result = yield* turnedDuringChain(5).pipe(
        Effect.provideService(Scheduler.Scheduler, new DrainingScheduler({ maxRounds: 16, maxMs: 60_000 }))
      )
      assert.deepStrictEqual(result, { arrived: 5, turned: false })
    })
  )

  it.live("(Effect's default scheduler needs a turn of the event loop per hop for the same chain)", () =>
    Effect.gen(function* () {
      const result = yield* turnedDuringChain(5)
      assert.deepStrictEqual(result, { arrived: 5, turned: true })
    })
  )

  it("runs tasks by priority, in order within a priority, including tasks queued while running", () => {
    const dispatcher = new DrainingScheduler().makeDispatcher()
    const ran: Array<string> = []
    dispatcher.scheduleTask(() => ran.push("a0"), 0)
    dispatcher.scheduleTask(() => ran.push("b1"), 1)
    dispatcher.scheduleTask(() => {
      ran.push("c0")
      dispatcher.scheduleTask(() => ran.push("e0 (queued while running)"), 0)
    }, 0)
    dispatcher.scheduleTask(() => ran.push("d-1"), -1)
    dispatcher.flush()
    assert.deepStrictEqual(ran, ["d-1", "a0", "c0", "b1", "e0 (queued while running)"])
  })

  it("a task that throws does not take the rest of its round with it; the error is thrown after them", () => {
    const dispatcher = new DrainingScheduler().makeDispatcher()
    const ran: Array<string> = []
    dispatcher.scheduleTask(() => {
      throw new Error("boom")
    }, 0)
    dispatcher.scheduleTask(() => ran.push("after"), 0)
    assert.throws(() => dispatcher.flush(), "boom")
    assert.deepStrictEqual(ran, ["after"])
  })

  it.live("a fiber that keeps yielding does not starve timers", () =>
    Effect.gen(function* () {
      let spins = 0
      let spinsWhenTimerFired: number | undefined
      // A timer of the event loop, outside Effect: it fires only if the dispatcher hands the loop back.
      setTimeout(() => {
        spinsWhenTimerFired = spins
      }, 5)
      // Bounded, so a dispatcher that never hands the loop back fails this test instead of hanging it.
      yield* Effect.whileLoop({
        while: () => spins < 1_000_000 && spinsWhenTimerFired === undefined,
        body: () => Effect.yieldNow,
        step: () => {
          spins++
        }
      })
      assert.isDefined(spinsWhenTimerFired, "the timer fired while the fiber was still yielding")
    }).pipe(Effect.provideService(Scheduler.Scheduler, new DrainingScheduler()))
  )
})

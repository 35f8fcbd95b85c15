// Turn bookkeeping of speech: utterances end in order, their finals come back in order even while the next one is
// being heard, partials go to the utterance they belong to as far as the events tell.
import { assert, describe, it } from "@effect/vitest"
import { Utterances } from "../../src/session/Utterances.ts"

const tracker = () => {
  let last = 0
  return new Utterances(() => ++last)
}

describe("Utterances", () => {
  it("one utterance: started, partials, ended, final", () => {
    const u = tracker()
    assert.strictEqual(u.speechStarted(), 1)
    assert.strictEqual(u.partial(), 1)
    assert.isTrue(u.speechEnded(100))
    assert.deepStrictEqual(u.final(), { turn: 1, endedAt: 100 })
    assert.isUndefined(u.oldestAwaiting)
  })

  it("the next utterance starting before the previous final keeps its own turn; finals come back in order", () => {
    const u = tracker()
    u.speechStarted()
    u.speechEnded(100)
    assert.strictEqual(u.speechStarted(), 2)
    assert.deepStrictEqual(u.final(), { turn: 1, endedAt: 100 })
    assert.isTrue(u.speechEnded(300))
    assert.deepStrictEqual(u.final(), { turn: 2, endedAt: 300 })
  })

  it("speechEnded reports whether the utterance became the oldest waiting (the timer's cue)", () => {
    const u = tracker()
    u.speechStarted()
    assert.isTrue(u.speechEnded(100))
    u.speechStarted()
    assert.isFalse(u.speechEnded(200), "turn 1 is still the oldest waiting")
    assert.isFalse(u.speechEnded(300), "nothing is being heard")
  })

  it("a partial with nothing being heard belongs to the oldest utterance waiting for its final", () => {
    const u = tracker()
    u.speechStarted()
    u.speechEnded(100)
    assert.strictEqual(u.partial(), 1)
    assert.strictEqual(u.partial(), 1)
  })

  it("a final with no speech event at all opens and closes a turn (providers without voice activity events)", () => {
    const u = tracker()
    assert.deepStrictEqual(u.final(), { turn: undefined, endedAt: undefined })
    assert.strictEqual(u.partial(), 1)
    assert.deepStrictEqual(u.final(), { turn: 1, endedAt: undefined })
  })

  it("a timeout drops the oldest waiting; abandoning reports every turn lost, oldest first", () => {
    const u = tracker()
    u.speechStarted()
    u.speechEnded(100)
    u.speechStarted()
    u.speechEnded(200)
    assert.strictEqual(u.timedOut(), 1)
    assert.deepStrictEqual(u.oldestAwaiting, { turn: 2, endedAt: 200 })
    u.speechStarted()
    assert.deepStrictEqual(u.abandonAll(), [2, 3])
    assert.isFalse(u.hearing)
    assert.isUndefined(u.oldestAwaiting)
  })
})

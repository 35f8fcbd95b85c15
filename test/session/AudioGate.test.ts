// The hand-off of a session's audio to the STT (AudioGate): with a push-form taker attached, frames are taken inside
// the offer; what was buffered before goes first, in order; a refusing taker drops audio with one audio_dropped per
// episode; when the taker's call ends (an STT restart) audio is buffered again for the next one.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Queue, Stream } from "effect"
import { pcm16Format } from "../../src/domain/Audio.ts"
import { type SttAudio, type SttInput, SttInputCapacity } from "../../src/pipeline/Stt.ts"
import type { AudioOutcome } from "../../src/session/AudioGate.ts"
import { markedFrame as frame, itemMarker, openAudioGate } from "../support/MarkedAudio.ts"

/** The error code an outcome carries, if any. */
const codeOf = (outcome: AudioOutcome | undefined) =>
  outcome === undefined
    ? undefined
    : outcome._tag === "Reject"
      ? outcome.problem.code
      : outcome.event.type === "error"
        ? outcome.event.code
        : outcome.event.type

const openGate = openAudioGate(pcm16Format(16000))

/** A taker that records what it is handed, taking it while `accepting` says so. */
const recordingTaker = () => {
  const taken: Array<number | "commit"> = []
  const state = { accepting: true }
  const take = (item: SttInput) => {
    if (!state.accepting) return false
    taken.push(itemMarker(item))
    return true
  }
  return { taken, state, take }
}

/** Attaches `take` in a fiber of its own; `startImmediately` runs the attachment before this returns. */
const attach = (audio: SttAudio, take: (item: SttInput) => boolean) =>
  Effect.forkChild(audio.attach(take), { startImmediately: true })

describe("AudioGate: the STT input in its push form", () => {
  it.effect("with a taker attached, a frame is taken inside the offer, before any fiber runs", () =>
    Effect.gen(function* () {
      const { gate, buffer, audio } = yield* openGate
      const taker = recordingTaker()
      yield* attach(audio, taker.take)
      // No yield between the offer and the check: the taker must have the frame already.
      assert.strictEqual(gate.audio(frame(1)), undefined)
      assert.deepStrictEqual(taker.taken, [1])
      assert.strictEqual(gate.commit(), undefined)
      assert.deepStrictEqual(taker.taken, [1, "commit"])
      assert.strictEqual(Queue.sizeUnsafe(buffer), 0, "nothing went through the buffer")
    })
  )

  it.effect("what was buffered before the taker attached is handed to it first, in order, then the live frames", () =>
    Effect.gen(function* () {
      const { gate, buffer, audio } = yield* openGate
      gate.audio(frame(1))
      gate.audio(frame(2))
      gate.commit()
      gate.audio(frame(3))
      assert.strictEqual(Queue.sizeUnsafe(buffer), 4)
      const taker = recordingTaker()
      yield* attach(audio, taker.take)
      assert.deepStrictEqual(taker.taken, [1, 2, "commit", 3])
      gate.audio(frame(4))
      assert.deepStrictEqual(taker.taken, [1, 2, "commit", 3, 4])
      assert.strictEqual(Queue.sizeUnsafe(buffer), 0)
    })
  )

  it.effect("a taker that refuses: one audio_dropped per episode, and the next frame it takes ends the episode", () =>
    Effect.gen(function* () {
      const { gate, buffer, audio } = yield* openGate
      const taker = recordingTaker()
      yield* attach(audio, taker.take)
      taker.state.accepting = false
      const refused = [gate.audio(frame(1)), gate.audio(frame(2)), gate.commit(), gate.audio(frame(3))]
      assert.deepStrictEqual(refused.map(codeOf), ["audio_dropped", undefined, undefined, undefined])
      assert.strictEqual(Queue.sizeUnsafe(buffer), 0, "refused items are dropped, not buffered")
      taker.state.accepting = true
      assert.strictEqual(gate.audio(frame(4)), undefined)
      taker.state.accepting = false
      assert.strictEqual(codeOf(gate.audio(frame(5))), "audio_dropped", "a new episode is reported again")
      assert.strictEqual(gate.audio(frame(6)), undefined)
      assert.deepStrictEqual(taker.taken, [4])
    })
  )

  it.effect("the notice is the same one the full buffer gives", () =>
    Effect.gen(function* () {
      const { gate, audio } = yield* openGate
      const outcomes = Array.from({ length: SttInputCapacity + 1 }, (_, i) => gate.audio(frame(i)))
      const bufferFull = outcomes.at(-1)
      assert.strictEqual(codeOf(bufferFull), "audio_dropped")
      const taker = recordingTaker()
      taker.state.accepting = false
      const refusingFromTheStart = yield* openGate
      yield* attach(refusingFromTheStart.audio, taker.take)
      assert.deepStrictEqual(refusingFromTheStart.gate.audio(frame(0)), bufferFull)
      // The full buffer is handed over whole when a taker attaches.
      const draining = recordingTaker()
      yield* attach(audio, draining.take)
      assert.strictEqual(draining.taken.length, SttInputCapacity)
    })
  )

  it.effect("items refused while the buffer is handed over are reported with the next offer, once", () =>
    Effect.gen(function* () {
      const { gate, audio } = yield* openGate
      gate.audio(frame(1))
      gate.audio(frame(2))
      const taker = recordingTaker()
      taker.state.accepting = false
      yield* attach(audio, taker.take)
      taker.state.accepting = true
      assert.strictEqual(codeOf(gate.audio(frame(3))), "audio_dropped")
      assert.strictEqual(gate.audio(frame(4)), undefined)
      assert.deepStrictEqual(taker.taken, [3, 4])
    })
  )

  it.effect("after the taker's call ends (an STT restart), audio is buffered and the next taker gets it first", () =>
    Effect.gen(function* () {
      const { gate, buffer, audio } = yield* openGate
      const first = recordingTaker()
      const firstCall = yield* attach(audio, first.take)
      gate.audio(frame(1))
      yield* Fiber.interrupt(firstCall)
      gate.audio(frame(2))
      gate.commit()
      assert.deepStrictEqual(first.taken, [1], "a detached taker is handed nothing")
      assert.strictEqual(Queue.sizeUnsafe(buffer), 2)
      const second = recordingTaker()
      yield* attach(audio, second.take)
      gate.audio(frame(3))
      assert.deepStrictEqual(second.taken, [2, "commit", 3])
    })
  )

  it.effect("a later taker takes over at once; the end of the earlier one's call does not detach it", () =>
    Effect.gen(function* () {
      const { gate, audio } = yield* openGate
      const first = recordingTaker()
      const firstCall = yield* attach(audio, first.take)
      const second = recordingTaker()
      yield* attach(audio, second.take)
      gate.audio(frame(1))
      yield* Fiber.interrupt(firstCall)
      gate.audio(frame(2))
      assert.deepStrictEqual(first.taken, [])
      assert.deepStrictEqual(second.taken, [1, 2])
    })
  )
})

describe("AudioGate: the STT input in its pull form", () => {
  it.effect("with no taker, frames and commits come out of the stream in order", () =>
    Effect.gen(function* () {
      const { gate, audio } = yield* openGate
      gate.audio(frame(1))
      gate.commit()
      gate.audio(frame(2))
      const items = yield* Stream.runCollect(audio.stream.pipe(Stream.take(3)))
      assert.deepStrictEqual(Array.from(items).map(itemMarker), [1, "commit", 2])
    })
  )
})

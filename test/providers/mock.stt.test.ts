// The mock STT takes the session's audio in the push form: its endpointer runs as each frame is offered, and what it
// finds comes out with the same timing as before (TestClock): speech start, partials, end, the final after its delay.
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Fiber, Stream } from "effect"
import { TestClock } from "effect/testing"
import { MockDefaults } from "../../src/config/MockSettings.ts"
import { pcm16Format } from "../../src/domain/Audio.ts"
import type { SttAudio } from "../../src/pipeline/Stt.ts"
import { makeMockStt } from "../../src/providers/mock/MockStt.ts"
import { openAudioGate } from "../support/MarkedAudio.ts"
import { frame20ms, settle } from "../support/TestTransport.ts"

const format = pcm16Format(16000)

describe("mock STT", () => {
  it.effect("takes its audio in the push form, with the same events at the same times", () =>
    Effect.gen(function* () {
      const { gate, audio } = yield* openAudioGate(format)
      // Only the push form is usable: pulling the stream would fail the test.
      const pushOnly: SttAudio = { stream: Stream.die("the mock pulled its input"), attach: audio.attach }
      const events: Array<[number, string]> = []
      const fiber = yield* makeMockStt(MockDefaults)
        .transcribe(pushOnly, format)
        .pipe(
          Stream.runForEach((event) =>
            Effect.map(Clock.currentTimeMillis, (now) => {
              events.push([now, event._tag === "Partial" ? `Partial ${event.text}` : event._tag])
            })
          ),
          Effect.forkChild
        )
      yield* settle
      // 600 ms of speech then 500 ms of silence, 20 ms a frame, in step with the clock.
      for (let t = 0; t < 1100; t += 20) {
        assert.strictEqual(gate.audio(frame20ms(t < 600)), undefined)
        yield* settle
        yield* TestClock.adjust(20)
      }
      yield* TestClock.adjust(1000)
      assert.deepStrictEqual(events, [
        [0, "SpeechStarted"],
        [280, "Partial What"],
        [580, "Partial What is"],
        [1080, "SpeechEnded"],
        [1330, "Final"]
      ])
      yield* Fiber.interrupt(fiber)
    })
  )
})

// Audio seconds counted for the STT provider (SttAudioUsage.ts), in both forms of its input: in the push form inside
// the taker, each whole second as it is reached and the rest when the call ends, and only audio the adapter took.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Metric, Stream } from "effect"
import { pcm16Format } from "../../src/domain/Audio.ts"
import { countSttAudio } from "../../src/observability/SttAudioUsage.ts"
import { markedFrame, openAudioGate } from "../support/MarkedAudio.ts"
import { sttAudioFromIterable } from "../support/SttAudioStream.ts"

const format = pcm16Format(16000)

/** A fresh registry and counter per test, so counts do not mix. */
const isolated = <A, E>(body: (seconds: Metric.Counter<number>) => Effect.Effect<A, E>) =>
  body(Metric.counter("test_stt_audio_seconds", { incremental: true })).pipe(
    Effect.provideService(Metric.MetricRegistry, new Map())
  )

const countOf = (seconds: Metric.Counter<number>) => Effect.map(Metric.value(seconds), (state) => state.count)

describe("STT audio usage", () => {
  it.effect("push form: each second is counted when reached, inside the taker; the rest when the call ends", () =>
    isolated((seconds) =>
      Effect.gen(function* () {
        const { gate, audio } = yield* openAudioGate(format)
        const counted = countSttAudio(audio, format, seconds)
        let refuse = false
        const call = yield* Effect.forkChild(
          counted.attach(() => !refuse),
          { startImmediately: true }
        )
        for (let i = 0; i < 49; i++) gate.audio(markedFrame(i))
        assert.strictEqual(yield* countOf(seconds), 0)
        gate.audio(markedFrame(49))
        assert.strictEqual(yield* countOf(seconds), 1, "the 50th frame of 20 ms makes a second")
        // Refused audio is not sent to the provider, so it is not counted.
        refuse = true
        for (let i = 0; i < 100; i++) gate.audio(markedFrame(i))
        refuse = false
        for (let i = 0; i < 25; i++) gate.audio(markedFrame(i))
        gate.commit()
        assert.strictEqual(yield* countOf(seconds), 1)
        yield* Fiber.interrupt(call)
        assert.strictEqual(yield* countOf(seconds), 1.5, "the last half second, when the call ended")
      })
    )
  )

  it.effect("push form over a finite input: counted when it ends", () =>
    isolated((seconds) =>
      Effect.gen(function* () {
        const frames = Array.from({ length: 30 }, (_, i) => ({ _tag: "Audio" as const, pcm: markedFrame(i) }))
        yield* countSttAudio(sttAudioFromIterable(frames), format, seconds).attach(() => true)
        assert.strictEqual(yield* countOf(seconds), 0.6)
      })
    )
  )

  it.effect("pull form: counted per chunk of the stream, about every second and the rest at its end", () =>
    isolated((seconds) =>
      Effect.gen(function* () {
        const frames = Array.from({ length: 75 }, (_, i) => ({ _tag: "Audio" as const, pcm: markedFrame(i) }))
        const items = yield* Stream.runCollect(countSttAudio(sttAudioFromIterable(frames), format, seconds).stream)
        assert.strictEqual(Array.from(items).length, 75)
        assert.strictEqual(yield* countOf(seconds), 1.5)
      })
    )
  )
})

// An SttAudio over a plain stream of input, for tests that hold their audio as a stream: the pull
// form is the stream itself; the push form runs it and hands each item over, and ends with it. An item the adapter
// refuses is dropped; there is no client to tell.
import { Effect, Stream } from "effect"
import type { SttAudio, SttInput } from "../../src/pipeline/Stt.ts"

export const sttAudioFromStream = (stream: Stream.Stream<SttInput>): SttAudio => ({
  stream,
  attach: (take) =>
    Stream.runForEachArray(stream, (items) =>
      Effect.sync(() => {
        for (const item of items) take(item)
      })
    )
})

export const sttAudioFromIterable = (items: Iterable<SttInput>): SttAudio =>
  sttAudioFromStream(Stream.fromIterable(items))

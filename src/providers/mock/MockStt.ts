// Mock STT: finds speech by audio energy, emits growing partials while it lasts, and after a stretch of
// silence (or input.commit) the configured final transcript, delayed through Effect's Clock.
import { Effect, FiberSet, Layer, Queue, Stream } from "effect"
import { EnergyEndpointer } from "../../audio/EnergyEndpointer.ts"
import type { MockSettings } from "../../config/MockSettings.ts"
import { durationMs } from "../../domain/Audio.ts"
import { Stt, type SttEvent, type SttInput } from "../../pipeline/Stt.ts"

export const makeMockStt = (settings: MockSettings): Stt["Service"] => ({
  provider: "mock",
  transcribe: (input, format) =>
    Stream.callback<SttEvent>((out) =>
      Effect.gen(function* () {
        const words = settings.sttText.split(/\s+/).filter((w) => w.length > 0)
        const endpointer = new EnergyEndpointer({
          threshold: settings.sttSpeechThreshold,
          endSilenceMs: settings.sttEndpointSilenceMs
        })
        let partials = 0
        let endedSinceCommit = 0
        const pendingFinals = yield* FiberSet.make<void>()
        const emit = (event: SttEvent) => Queue.offer(out, event)

        const endUtterance = Effect.gen(function* () {
          const heardMs = endpointer.reset()
          endedSinceCommit++
          partials = 0
          yield* emit({ _tag: "SpeechEnded" })
          const text = heardMs > 0 ? settings.sttText : ""
          yield* FiberSet.run(
            pendingFinals,
            Effect.sleep(settings.sttFinalDelayMs).pipe(Effect.andThen(emit({ _tag: "Final", text, audioMs: heardMs })))
          )
        })

        const onInput = (item: SttInput) =>
          Effect.gen(function* () {
            if (item._tag === "Commit") {
              // A commit right after an endpointed utterance adds nothing; one with no speech at all yields an
              // empty final so the client hears that nothing was understood.
              const redundant = endpointer.speechMs === 0 && endedSinceCommit > 0
              endedSinceCommit = 0
              if (!redundant) yield* endUtterance
              endedSinceCommit = 0
              return
            }
            const event = endpointer.push(item.pcm, durationMs(format, item.pcm.byteLength))
            if (event === "speech_started") yield* emit({ _tag: "SpeechStarted" })
            if (event === "speech_ended") return yield* endUtterance
            if (
              endpointer.speaking &&
              endpointer.speechMs >= (partials + 1) * settings.sttPartialEveryMs &&
              partials + 1 < words.length
            ) {
              partials++
              yield* emit({ _tag: "Partial", text: words.slice(0, partials).join(" ") })
            }
          })

        yield* Stream.runForEach(input, onInput)
        // Input over: let the pending finals land, then end the stream.
        yield* FiberSet.awaitEmpty(pendingFinals)
        yield* Queue.end(out)
      })
    )
})

export const layer = (settings: MockSettings) => Layer.succeed(Stt, makeMockStt(settings))

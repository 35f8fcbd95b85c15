// Mock STT: finds speech by audio energy, emits growing partials while it lasts, and after a stretch of
// silence (or input.commit) the configured final transcript, delayed through Effect's Clock.
import { Effect, Layer, Queue, Stream } from "effect"
import { rms } from "../../audio/Pcm.ts"
import type { MockSettings } from "../../config/MockSettings.ts"
import { durationMs } from "../../domain/Audio.ts"
import { Stt, type SttEvent, type SttInput } from "../../pipeline/Stt.ts"

export const makeMockStt = (settings: MockSettings): Stt["Service"] => ({
  provider: "mock",
  transcribe: (input, format) =>
    Stream.callback<SttEvent>((out) =>
      Effect.gen(function* () {
        const words = settings.sttText.split(/\s+/).filter((w) => w.length > 0)
        let inSpeech = false
        let speechMs = 0
        let silenceMs = 0
        let partials = 0
        let endedSinceCommit = 0
        const emit = (event: SttEvent) => Queue.offer(out, event)

        const endUtterance = Effect.gen(function* () {
          const heardMs = speechMs
          inSpeech = false
          endedSinceCommit++
          speechMs = 0
          silenceMs = 0
          partials = 0
          yield* emit({ _tag: "SpeechEnded" })
          const text = heardMs > 0 ? settings.sttText : ""
          yield* Effect.forkScoped(
            Effect.sleep(settings.sttFinalDelayMs).pipe(Effect.andThen(emit({ _tag: "Final", text, audioMs: heardMs })))
          )
        })

        const onInput = (item: SttInput) =>
          Effect.gen(function* () {
            if (item._tag === "Commit") {
              // A commit right after an endpointed utterance adds nothing; one with no speech at all yields an
              // empty final so the client hears that nothing was understood.
              const redundant = speechMs === 0 && endedSinceCommit > 0
              endedSinceCommit = 0
              if (!redundant) yield* endUtterance
              endedSinceCommit = 0
              return
            }
            const ms = durationMs(format, item.pcm.byteLength)
            if (rms(item.pcm) >= settings.sttSpeechThreshold) {
              if (!inSpeech) {
                inSpeech = true
                yield* emit({ _tag: "SpeechStarted" })
              }
              speechMs += ms
              silenceMs = 0
              if (speechMs >= (partials + 1) * settings.sttPartialEveryMs && partials + 1 < words.length) {
                partials++
                yield* emit({ _tag: "Partial", text: words.slice(0, partials).join(" ") })
              }
            } else if (inSpeech) {
              silenceMs += ms
              if (silenceMs >= settings.sttEndpointSilenceMs) yield* endUtterance
            }
          })

        yield* Stream.runForEach(input, onInput)
        // Input over: let a pending final land, then end the stream.
        yield* Effect.sleep(settings.sttFinalDelayMs)
        yield* Queue.end(out)
      })
    )
})

export const layer = (settings: MockSettings) => Layer.succeed(Stt, makeMockStt(settings))

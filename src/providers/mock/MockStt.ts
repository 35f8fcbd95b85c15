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

        /** The end of an utterance: SpeechEnded now, its final after the configured delay. */
        const endUtterance = (heardMs: number) =>
          Effect.andThen(
            emit({ _tag: "SpeechEnded" }),
            FiberSet.run(
              pendingFinals,
              Effect.sleep(settings.sttFinalDelayMs).pipe(
                Effect.andThen(emit({ _tag: "Final", text: heardMs > 0 ? settings.sttText : "", audioMs: heardMs }))
              )
            )
          )

        type Action = SttEvent | { readonly _tag: "End"; readonly heardMs: number }

        /**
         * Runs the endpointer over a batch of input synchronously; only a batch that produced events costs effects,
         * which then run in order.
         */
        const onBatch = (items: ReadonlyArray<SttInput>) =>
          Effect.suspend(() => {
            let actions: Array<Action> | undefined
            const act = (action: Action) => {
              if (actions === undefined) actions = []
              actions.push(action)
            }
            const end = () => {
              act({ _tag: "End", heardMs: endpointer.reset() })
              partials = 0
            }
            for (const item of items) {
              if (item._tag === "Commit") {
                // A commit right after an endpointed utterance adds nothing; one with no speech at all yields an
                // empty final so the client hears that nothing was understood.
                const redundant = endpointer.speechMs === 0 && endedSinceCommit > 0
                if (!redundant) end()
                endedSinceCommit = 0
                continue
              }
              const event = endpointer.push(item.pcm, durationMs(format, item.pcm.byteLength))
              if (event === "speech_started") act({ _tag: "SpeechStarted" })
              if (event === "speech_ended") {
                end()
                endedSinceCommit++
                continue
              }
              if (
                endpointer.speaking &&
                endpointer.speechMs >= (partials + 1) * settings.sttPartialEveryMs &&
                partials + 1 < words.length
              ) {
                partials++
                act({ _tag: "Partial", text: words.slice(0, partials).join(" ") })
              }
            }
            if (actions === undefined) return Effect.void
            return Effect.forEach(
              actions,
              (action) =>
                action._tag === "End" ? Effect.asVoid(endUtterance(action.heardMs)) : Effect.asVoid(emit(action)),
              { discard: true }
            )
          })

        yield* Stream.runForEachArray(input, onBatch)
        // Input over: let the pending finals land, then end the stream.
        yield* FiberSet.awaitEmpty(pendingFinals)
        yield* Queue.end(out)
      })
    )
})

export const layer = (settings: MockSettings) => Layer.succeed(Stt, makeMockStt(settings))

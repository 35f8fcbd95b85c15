// Mock STT: finds speech by audio energy, emits growing partials while it lasts, and after a stretch of
// silence (or input.commit) the configured final transcript, delayed through Effect's Clock. It takes the audio in
// the push form: the endpointer runs synchronously as each frame arrives, and only what it finds (rare) wakes a fiber.
import { type Cause, Effect, Fiber, FiberSet, Layer, Queue, Stream } from "effect"
import { EnergyEndpointer } from "../../audio/EnergyEndpointer.ts"
import type { MockSettings } from "../../config/MockSettings.ts"
import { durationMs } from "../../domain/Audio.ts"
import { Stt, type SttEvent, type SttInput } from "../../pipeline/Stt.ts"

/** What the endpointer found: an event to emit, or the end of an utterance (its final follows after a delay). */
type Action = SttEvent | { readonly _tag: "End"; readonly heardMs: number }

export const makeMockStt = (settings: MockSettings): Stt["Service"] => ({
  provider: "mock",
  transcribe: (audio, format) =>
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
        const actions = yield* Queue.unbounded<Action, Cause.Done>()
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

        const act = (action: Action) => {
          Queue.offerUnsafe(actions, action)
        }
        const end = () => {
          act({ _tag: "End", heardMs: endpointer.reset() })
          partials = 0
        }

        /** Runs the endpointer over one item, synchronously; what it finds goes to the fiber below, in order. */
        const take = (item: SttInput): boolean => {
          if (item._tag === "Commit") {
            // A commit right after an endpointed utterance adds nothing; one with no speech at all yields an
            // empty final so the client hears that nothing was understood.
            const redundant = endpointer.speechMs === 0 && endedSinceCommit > 0
            if (!redundant) end()
            endedSinceCommit = 0
            return true
          }
          const event = endpointer.push(item.pcm, durationMs(format, item.pcm.byteLength))
          if (event === "speech_started") act({ _tag: "SpeechStarted" })
          if (event === "speech_ended") {
            end()
            endedSinceCommit++
            return true
          }
          if (
            endpointer.speaking &&
            endpointer.speechMs >= (partials + 1) * settings.sttPartialEveryMs &&
            partials + 1 < words.length
          ) {
            partials++
            act({ _tag: "Partial", text: words.slice(0, partials).join(" ") })
          }
          return true
        }

        const performer = yield* Stream.fromQueue(actions).pipe(
          Stream.runForEach((action) =>
            action._tag === "End" ? Effect.asVoid(endUtterance(action.heardMs)) : Effect.asVoid(emit(action))
          ),
          Effect.forkScoped
        )
        yield* audio.attach(take)
        // Input over: what it produced is emitted, the pending finals land, then the stream ends.
        yield* Queue.end(actions)
        yield* Fiber.join(performer)
        yield* FiberSet.awaitEmpty(pendingFinals)
        yield* Queue.end(out)
      })
    )
})

export const layer = (settings: MockSettings) => Layer.succeed(Stt, makeMockStt(settings))

// The session's audio on its way to a speech recognition provider, counted in seconds for quota tracking (the
// provider's voice_stream_provider_audio_seconds_total series), in steps of about a second and the rest at the end of
// the call. Both forms of the STT input are counted: the stream per chunk, the push form inside the adapter's taker,
// synchronously (no fiber there: the counter is updated with the services of the fiber that attached).
import { type Context, Effect, Metric, Stream } from "effect"
import { type AudioFormat, durationMs } from "../domain/Audio.ts"
import type { SttAudio, SttInput } from "../pipeline/Stt.ts"

/** Audio not counted yet, in milliseconds. */
class PendingAudio {
  private pendingMs = 0
  private readonly format: AudioFormat

  constructor(format: AudioFormat) {
    this.format = format
  }

  add(item: SttInput) {
    if (item._tag === "Audio") this.pendingMs += durationMs(this.format, item.pcm.byteLength)
  }

  /** A second or more is waiting: time to count it. */
  get due(): boolean {
    return this.pendingMs >= 1000
  }

  /** The audio waiting, in seconds, now taken off. */
  takeSeconds(): number {
    const seconds = this.pendingMs / 1000
    this.pendingMs = 0
    return seconds
  }
}

/** `audio` with what reaches the adapter added to `seconds` (the provider's series of the audio seconds counter). */
export const countSttAudio = (audio: SttAudio, format: AudioFormat, seconds: Metric.Counter<number>): SttAudio => ({
  stream: Stream.suspend(() => {
    const pending = new PendingAudio(format)
    const flush = Effect.suspend(() => {
      const amount = pending.takeSeconds()
      return amount > 0 ? Metric.update(seconds, amount) : Effect.void
    })
    return audio.stream.pipe(
      Stream.mapArrayEffect((items) => {
        for (const item of items) pending.add(item)
        return pending.due ? Effect.as(flush, items) : Effect.succeed(items)
      }),
      Stream.ensuring(flush)
    )
  }),
  attach: (take) =>
    Effect.contextWith((context: Context.Context<never>) => {
      const pending = new PendingAudio(format)
      // What Metric.update does, without a fiber.
      const flush = () => {
        const amount = pending.takeSeconds()
        if (amount > 0) seconds.updateUnsafe(amount, context)
      }
      return audio
        .attach((item) => {
          if (!take(item)) return false
          pending.add(item)
          if (pending.due) flush()
          return true
        })
        .pipe(Effect.ensuring(Effect.sync(flush)))
    })
})

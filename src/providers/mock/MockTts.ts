// Mock TTS: after a configured first-byte delay, a 440 Hz tone whose length follows the text, in fixed-size chunks
// at the session's output sample rate. The tone is synthesized once per rate and sliced (a provider sends bytes it
// did not compute here, so the mock should not cost the server more than receiving them).
import { Effect, Layer, Stream } from "effect"
import { toneSlice } from "../../audio/Pcm.ts"
import type { MockSettings } from "../../config/MockSettings.ts"
import { Tts } from "../../pipeline/Tts.ts"

export const makeMockTts = (settings: MockSettings): Tts["Service"] => ({
  provider: "mock",
  synthesize: (text, format) => {
    const totalSamples = Math.round((text.length * settings.ttsMsPerChar * format.sampleRate) / 1000)
    const chunkSamples = Math.max(1, Math.round((settings.ttsChunkMs * format.sampleRate) / 1000))
    const chunks = Math.ceil(totalSamples / chunkSamples)
    return Stream.range(0, chunks - 1).pipe(
      Stream.map((i) =>
        toneSlice(
          { sampleRate: format.sampleRate, frequencyHz: 440, amplitude: 6000 },
          i * chunkSamples,
          Math.min(chunkSamples, totalSamples - i * chunkSamples)
        )
      ),
      Stream.onStart(Effect.sleep(settings.ttsFirstByteDelayMs))
    )
  }
})

export const layer = (settings: MockSettings) => Layer.succeed(Tts, makeMockTts(settings))

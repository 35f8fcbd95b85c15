// One conformance suite per port: every adapter (the mock included) must pass the same cases. Adapter tests call
// these with a layer that provides the port (over a local fake of the provider where there is one).
import { assert, it } from "@effect/vitest"
import { Effect, type Layer, Stream } from "effect"
import { type AudioFormat, pcm16Format } from "../../src/domain/Audio.ts"
import type { EnrichmentContext } from "../../src/domain/Enrichment.ts"
import { Llm, type LlmChunk } from "../../src/pipeline/Llm.ts"
import { Stt, type SttEvent, type SttInput } from "../../src/pipeline/Stt.ts"
import { Tts } from "../../src/pipeline/Tts.ts"
import { sttAudioFromIterable } from "../support/SttAudioStream.ts"

const context: EnrichmentContext = {
  prices: [
    {
      asset: "Bitcoin",
      symbol: "BTC",
      price: 97250.12,
      fiat: "usd",
      change24hPct: 2.31,
      source: "test",
      asOf: "2026-11-26T00:00:00.000Z"
    }
  ],
  headlines: [],
  missing: []
}

/** `speechMs` of a loud tone then `silenceMs` of silence, as 20 ms frames at `format`'s rate. */
export const speechFrames = (format: AudioFormat, speechMs: number, silenceMs: number): Array<SttInput> => {
  const samples = (format.sampleRate / 1000) * 20
  const frames: Array<SttInput> = []
  for (let t = 0; t < speechMs + silenceMs; t += 20) {
    const pcm = new Uint8Array(samples * 2)
    const view = new DataView(pcm.buffer)
    if (t < speechMs) for (let i = 0; i < samples; i++) view.setInt16(i * 2, Math.round(8000 * Math.sin(i / 3)), true)
    frames.push({ _tag: "Audio", pcm })
  }
  return frames
}

export interface SttConformanceOptions {
  /** The transcript the provider (or its fake) will return for the speech. */
  readonly expectedText: string
  readonly format?: AudioFormat
}

export const sttConformance = <E>(layer: () => Layer.Layer<Stt, E>, options: SttConformanceOptions) => {
  const format = options.format ?? pcm16Format(16000)
  it.live("Stt: speech then input.commit gives exactly one final transcript, and the stream ends with its input", () =>
    Effect.gen(function* () {
      const stt = yield* Stt
      const input = sttAudioFromIterable([...speechFrames(format, 600, 100), { _tag: "Commit" } as const])
      const events: Array<SttEvent> = Array.from(yield* Stream.runCollect(stt.transcribe(input, format)))
      const finals = events.filter((e): e is Extract<SttEvent, { _tag: "Final" }> => e._tag === "Final")
      assert.strictEqual(finals.length, 1, JSON.stringify(events.map((e) => e._tag)))
      assert.strictEqual(finals[0]!.text, options.expectedText)
      assert.isAbove(finals[0]!.audioMs, 0)
      assert.isTrue(
        events.every((e) => ["SpeechStarted", "Partial", "SpeechEnded", "Final"].includes(e._tag)),
        "only the port's event kinds"
      )
    }).pipe(Effect.provide(layer()))
  )

  it.live("Stt: silence only, then the input ends, gives no non-empty transcript", () =>
    Effect.gen(function* () {
      const stt = yield* Stt
      const events = yield* Stream.runCollect(
        stt.transcribe(sttAudioFromIterable(speechFrames(format, 0, 400)), format)
      )
      assert.deepStrictEqual(
        Array.from(events).filter((e) => e._tag === "Final" && e.text.length > 0),
        []
      )
    }).pipe(Effect.provide(layer()))
  )
}

export const llmConformance = <E>(layer: () => Layer.Layer<Llm, E>) => {
  it.live("Llm: a request streams text deltas that add up to a reply, and the stream ends", () =>
    Effect.gen(function* () {
      const llm = yield* Llm
      const chunks: Array<LlmChunk> = Array.from(
        yield* Stream.runCollect(
          llm.stream({
            system: "You are terse.",
            messages: [
              { role: "user", content: "hello" },
              { role: "assistant", content: "hi" },
              { role: "user", content: "how is bitcoin?" }
            ],
            context
          })
        )
      )
      const text = chunks.flatMap((c) => (c._tag === "Delta" ? [c.text] : [])).join("")
      assert.isAbove(text.trim().length, 0)
      for (const c of chunks) {
        if (c._tag === "Usage") {
          assert.isTrue(Number.isInteger(c.inputTokens) && c.inputTokens >= 0)
          assert.isTrue(Number.isInteger(c.outputTokens) && c.outputTokens >= 0)
        }
      }
      assert.isString(llm.provider)
      assert.isString(llm.model)
    }).pipe(Effect.provide(layer()))
  )
}

export const ttsConformance = <E>(
  layer: () => Layer.Layer<Tts, E>,
  rates: ReadonlyArray<AudioFormat["sampleRate"]> = [24000, 16000]
) => {
  for (const rate of rates) {
    it.live(`Tts: a sentence becomes PCM16 audio at ${rate} Hz (whole samples, some audio), and the stream ends`, () =>
      Effect.gen(function* () {
        const tts = yield* Tts
        const chunks = Array.from(yield* Stream.runCollect(tts.synthesize("Bitcoin is up today.", pcm16Format(rate))))
        const bytes = chunks.reduce((n, c) => n + c.byteLength, 0)
        assert.isAbove(bytes, 0)
        assert.strictEqual(bytes % 2, 0, "whole 16-bit samples")
        assert.isTrue(chunks.every((c) => c instanceof Uint8Array))
      }).pipe(Effect.provide(layer()))
    )
  }
}

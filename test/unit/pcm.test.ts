// The tone the mock TTS sends: slices of the precomputed second match the directly computed tone, across the wrap.
import { assert, describe, it } from "@effect/vitest"
import { tone, toneSlice } from "../../src/audio/Pcm.ts"

const spec = { sampleRate: 24000, frequencyHz: 440, amplitude: 6000 }
const samplesOf = (pcm: Uint8Array) => Array.from(new Int16Array(pcm.slice().buffer))

const maxDifference = (a: Uint8Array, b: Uint8Array) => {
  const x = samplesOf(a)
  const y = samplesOf(b)
  assert.strictEqual(x.length, y.length)
  return x.reduce((max, value, i) => Math.max(max, Math.abs(value - y[i]!)), 0)
}

describe("toneSlice", () => {
  it("equals tone() inside the first second, and within one step of rounding after it wraps", () => {
    for (const [start, samples] of [
      [0, 2400],
      [21600, 2400],
      [22800, 2400],
      [23999, 1],
      [24000 * 7 + 123, 2400],
      [24000 * 3 - 100, 2400]
    ] as const) {
      const direct = tone({ ...spec, startSample: start, samples })
      const sliced = toneSlice(spec, start, samples)
      assert.strictEqual(sliced.byteLength, samples * 2)
      assert.isAtMost(maxDifference(direct, sliced), start + samples <= 24000 ? 0 : 1, `start ${start}`)
    }
  })

  it("a frequency that is not whole, or a slice longer than the table, is computed directly", () => {
    const odd = { ...spec, frequencyHz: 440.5 }
    assert.strictEqual(maxDifference(toneSlice(odd, 30000, 100), tone({ ...odd, startSample: 30000, samples: 100 })), 0)
    const long = toneSlice(spec, 5, 30000)
    assert.strictEqual(maxDifference(long, tone({ ...spec, startSample: 5, samples: 30000 })), 0)
  })
})

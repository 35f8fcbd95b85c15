// Small PCM16 little-endian mono helpers: energy of a frame, a tone generator, and linear resampling.

/** Root-mean-square level of a PCM16 buffer, 0..32767. An odd trailing byte is ignored. */
export const rms = (pcm: Uint8Array): number => {
  const samples = pcm.byteLength >> 1
  if (samples === 0) return 0
  const view = new DataView(pcm.buffer, pcm.byteOffset, samples * 2)
  let sum = 0
  for (let i = 0; i < samples; i++) {
    const s = view.getInt16(i * 2, true)
    sum += s * s
  }
  return Math.sqrt(sum / samples)
}

/** `durationMs` of a sine tone, continuing from `startSample` so consecutive chunks join without clicks. */
export const tone = (options: {
  readonly sampleRate: number
  readonly frequencyHz: number
  readonly amplitude: number
  readonly startSample: number
  readonly samples: number
}): Uint8Array => {
  const out = new Uint8Array(options.samples * 2)
  const view = new DataView(out.buffer)
  const step = (2 * Math.PI * options.frequencyHz) / options.sampleRate
  for (let i = 0; i < options.samples; i++) {
    const value = Math.round(options.amplitude * Math.sin(step * (options.startSample + i)))
    view.setInt16(i * 2, value, true)
  }
  return out
}

export interface ToneSpec {
  readonly sampleRate: number
  readonly frequencyHz: number
  readonly amplitude: number
}

const toneTables = new Map<string, Uint8Array>()

/** One second of the tone, computed once per spec: a whole number of cycles when the frequency is whole. */
const toneTable = (spec: ToneSpec): Uint8Array => {
  const key = `${spec.sampleRate}:${spec.frequencyHz}:${spec.amplitude}`
  let table = toneTables.get(key)
  if (table === undefined) {
    table = tone({ ...spec, startSample: 0, samples: spec.sampleRate })
    toneTables.set(key, table)
  }
  return table
}

/**
 * The same samples as `tone` from `startSample`, read from a precomputed second of it: a view when it does not wrap
 * (callers must not write to it), else a copy. Exact for whole frequencies; others fall back to `tone`.
 */
export const toneSlice = (spec: ToneSpec, startSample: number, samples: number): Uint8Array => {
  if (!Number.isInteger(spec.frequencyHz) || samples > spec.sampleRate) return tone({ ...spec, startSample, samples })
  const table = toneTable(spec)
  const from = (startSample % spec.sampleRate) * 2
  const to = from + samples * 2
  if (to <= table.byteLength) return table.subarray(from, to)
  const out = new Uint8Array(samples * 2)
  out.set(table.subarray(from))
  out.set(table.subarray(0, to - table.byteLength), table.byteLength - from)
  return out
}

/** Linear-interpolation resampling of PCM16 mono; returns the input unchanged when the rates match. */
export const resample = (pcm: Uint8Array, fromRate: number, toRate: number): Uint8Array => {
  if (fromRate === toRate) return pcm
  const inSamples = pcm.byteLength >> 1
  const outSamples = Math.floor((inSamples * toRate) / fromRate)
  const input = new DataView(pcm.buffer, pcm.byteOffset, inSamples * 2)
  const out = new Uint8Array(outSamples * 2)
  const output = new DataView(out.buffer)
  const ratio = fromRate / toRate
  for (let i = 0; i < outSamples; i++) {
    const pos = i * ratio
    const left = Math.floor(pos)
    const right = Math.min(left + 1, inSamples - 1)
    const frac = pos - left
    const a = input.getInt16(left * 2, true)
    const b = input.getInt16(right * 2, true)
    output.setInt16(i * 2, Math.round(a + (b - a) * frac), true)
  }
  return out
}

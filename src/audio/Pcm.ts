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

// A streaming PCM16 little-endian mono resampler (linear interpolation) for audio that arrives in arbitrary byte
// chunks: it keeps the last input sample, the output position and any odd trailing byte across chunk boundaries, so
// the concatenated output equals resampling the whole stream at once and never splits a sample.

export class Resampler {
  private readonly fromRate: number
  private readonly toRate: number
  /** An odd byte left over from the previous chunk (the low byte of a sample whose high byte is still to come). */
  private carry: number | undefined = undefined
  /** Input samples consumed so far, over the whole stream. */
  private consumed = 0
  /** The last input sample of the previous chunk (global index consumed − 1), if any. */
  private previous: number | undefined = undefined
  /** Index of the next output sample, over the whole stream. */
  private produced = 0

  constructor(fromRate: number, toRate: number) {
    if (!(fromRate > 0 && toRate > 0)) throw new RangeError("sample rates must be positive")
    this.fromRate = fromRate
    this.toRate = toRate
  }

  /** Takes the next chunk of input bytes; returns the whole output samples it makes available (possibly none). */
  push(chunk: Uint8Array): Uint8Array {
    const bytes = this.align(chunk)
    const count = bytes.byteLength >> 1
    if (count === 0) return new Uint8Array(0)
    const input = new DataView(bytes.buffer, bytes.byteOffset, count * 2)
    if (this.fromRate === this.toRate) {
      this.consumed += count
      this.produced += count
      this.previous = input.getInt16((count - 1) * 2, true)
      return bytes
    }
    const base = this.consumed // global index of input[0]
    const sampleAt = (global: number) =>
      global < base ? (this.previous ?? 0) : input.getInt16((global - base) * 2, true)
    const out: Array<number> = []
    // An output sample at (global) position p needs the input samples floor(p) and floor(p) + 1.
    for (;;) {
      const position = (this.produced * this.fromRate) / this.toRate
      const left = Math.floor(position)
      if (left + 1 > base + count - 1) break
      const a = sampleAt(left)
      const b = sampleAt(left + 1)
      out.push(Math.round(a + (b - a) * (position - left)))
      this.produced++
    }
    this.consumed += count
    this.previous = input.getInt16((count - 1) * 2, true)
    return encode(out)
  }

  /** Ends the stream: the output samples that fall after the last input sample (held at its value). */
  flush(): Uint8Array {
    this.carry = undefined
    if (this.previous === undefined || this.fromRate === this.toRate) return new Uint8Array(0)
    const out: Array<number> = []
    while ((this.produced * this.fromRate) / this.toRate < this.consumed) {
      out.push(this.previous)
      this.produced++
    }
    return encode(out)
  }

  /** Prepends the byte carried from the last chunk and keeps this chunk's odd trailing byte for the next one. */
  private align(chunk: Uint8Array): Uint8Array {
    let bytes = chunk
    if (this.carry !== undefined && chunk.byteLength > 0) {
      bytes = new Uint8Array(chunk.byteLength + 1)
      bytes[0] = this.carry
      bytes.set(chunk, 1)
      this.carry = undefined
    }
    if (bytes.byteLength % 2 === 1) {
      this.carry = bytes[bytes.byteLength - 1]
      return bytes.subarray(0, bytes.byteLength - 1)
    }
    return bytes
  }
}

const encode = (samples: ReadonlyArray<number>): Uint8Array => {
  const out = new Uint8Array(samples.length * 2)
  const view = new DataView(out.buffer)
  for (let i = 0; i < samples.length; i++) view.setInt16(i * 2, samples[i]!, true)
  return out
}

// Wraps PCM16 little-endian mono samples in a WAV (RIFF) container: the transcription upload format, and what the
// test client writes its reply audio as.

/** A 44-byte canonical WAV header followed by the samples (an odd trailing byte is dropped). */
export const wavFile = (pcm: Uint8Array, sampleRate: number): Uint8Array => {
  const dataBytes = pcm.byteLength - (pcm.byteLength % 2)
  const out = new Uint8Array(44 + dataBytes)
  const view = new DataView(out.buffer)
  const ascii = (offset: number, text: string) => {
    for (let i = 0; i < text.length; i++) out[offset + i] = text.charCodeAt(i)
  }
  ascii(0, "RIFF")
  view.setUint32(4, 36 + dataBytes, true)
  ascii(8, "WAVE")
  ascii(12, "fmt ")
  view.setUint32(16, 16, true) // fmt chunk size
  view.setUint16(20, 1, true) // PCM
  view.setUint16(22, 1, true) // mono
  view.setUint32(24, sampleRate, true)
  view.setUint32(28, sampleRate * 2, true) // byte rate
  view.setUint16(32, 2, true) // block align
  view.setUint16(34, 16, true) // bits per sample
  ascii(36, "data")
  view.setUint32(40, dataBytes, true)
  out.set(pcm.subarray(0, dataBytes), 44)
  return out
}

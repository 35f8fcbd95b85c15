// Speech-like microphone frames for the load generator: 20 ms of PCM16 at 16 kHz, a voiced burst (a 180 Hz tone
// with a syllable envelope, RMS well above the mock STT's threshold) or near-silence (faint noise below it).

export const FrameMs = 20
export const FrameBytes = 640 // 320 samples × 2 bytes

const tone = (phase: number, amplitude: number): Buffer => {
  const frame = Buffer.alloc(FrameBytes)
  for (let i = 0; i < 320; i++) {
    const t = (phase * 320 + i) / 16000
    frame.writeInt16LE(Math.round(amplitude * Math.sin(2 * Math.PI * 180 * t)), i * 2)
  }
  return frame
}

/** Ten speech frames whose loudness rises and falls like syllables (all above the speech threshold). */
export const SpeechFrames: ReadonlyArray<Buffer> = Array.from({ length: 10 }, (_, k) =>
  tone(k, 3000 + 3000 * Math.sin((Math.PI * k) / 10))
)

/** A silence frame: faint deterministic noise, RMS about 50. */
export const SilenceFrame: Buffer = (() => {
  const frame = Buffer.alloc(FrameBytes)
  let seed = 1
  for (let i = 0; i < 320; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    frame.writeInt16LE((seed % 170) - 85, i * 2)
  }
  return frame
})()

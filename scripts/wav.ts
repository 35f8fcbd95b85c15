// WAV helpers for the test client: read a RIFF/WAVE file into PCM16 mono, write PCM16 mono back out,
// and map an arbitrary sample rate onto one the protocol accepts. Pure functions, no I/O.
import { wavFile } from "../src/audio/Wav.ts"
import { SupportedSampleRates } from "../src/domain/Audio.ts"

export interface ParsedWav {
  /** Sample rate declared in the fmt chunk, in Hz. */
  readonly sampleRate: number
  /** Channel count found in the file; `pcm` is always mono (multi-channel audio is downmixed). */
  readonly channels: number
  readonly bitsPerSample: number
  /** Signed 16-bit little-endian mono samples. */
  readonly pcm: Uint8Array
}

interface FmtChunk {
  readonly formatTag: number
  readonly channels: number
  readonly sampleRate: number
  readonly blockAlign: number
  readonly bitsPerSample: number
  /** For WAVE_FORMAT_EXTENSIBLE: the format tag inside the SubFormat GUID, or null if the GUID is not a standard one. */
  readonly subFormat: number | null
}

const WAVE_FORMAT_PCM = 0x0001
const WAVE_FORMAT_EXTENSIBLE = 0xfffe
const SUPPORTED = "supported: 16-bit integer PCM (format 1, or WAVE_FORMAT_EXTENSIBLE with the PCM subformat)"

/** Bytes 2..15 of the KSDATAFORMAT_SUBTYPE_* GUIDs: xxxxxxxx-0000-0010-8000-00aa00389b71. */
const GUID_TAIL = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71]

const FORMAT_NAMES: ReadonlyMap<number, string> = new Map([
  [0x0001, "PCM"],
  [0x0002, "Microsoft ADPCM"],
  [0x0003, "IEEE float"],
  [0x0006, "A-law"],
  [0x0007, "mu-law"],
  [0x0011, "IMA ADPCM"],
  [0x0031, "GSM 6.10"],
  [0x0055, "MPEG Layer 3"],
  [0xfffe, "WAVE_FORMAT_EXTENSIBLE"]
])

const formatName = (tag: number): string =>
  `${FORMAT_NAMES.get(tag) ?? "unknown format"} (0x${tag.toString(16).padStart(4, "0")})`

const fourCC = (bytes: Uint8Array, offset: number): string =>
  String.fromCharCode(bytes[offset]!, bytes[offset + 1]!, bytes[offset + 2]!, bytes[offset + 3]!)

const unsupported = (found: string): Error => new Error(`unsupported WAV: ${found}; ${SUPPORTED}`)

const readFmt = (bytes: Uint8Array, offset: number, size: number): FmtChunk => {
  if (size < 16) throw new Error(`invalid WAV: fmt chunk is ${size} bytes, expected at least 16`)
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, size)
  const formatTag = view.getUint16(0, true)
  let subFormat: number | null = null
  if (formatTag === WAVE_FORMAT_EXTENSIBLE && size >= 40) {
    const guid = bytes.subarray(offset + 24, offset + 40)
    subFormat = GUID_TAIL.every((b, i) => guid[i + 2] === b) ? view.getUint16(24, true) : null
  }
  return {
    formatTag,
    channels: view.getUint16(2, true),
    sampleRate: view.getUint32(4, true),
    blockAlign: view.getUint16(12, true),
    bitsPerSample: view.getUint16(14, true),
    subFormat
  }
}

/** Throws unless the fmt chunk describes 16-bit integer PCM with a sane layout. */
const checkFmt = (fmt: FmtChunk): void => {
  if (fmt.formatTag === WAVE_FORMAT_EXTENSIBLE) {
    if (fmt.subFormat === null) throw unsupported("WAVE_FORMAT_EXTENSIBLE with a missing or non-standard SubFormat")
    if (fmt.subFormat !== WAVE_FORMAT_PCM) {
      throw unsupported(`WAVE_FORMAT_EXTENSIBLE with subformat ${formatName(fmt.subFormat)}`)
    }
  } else if (fmt.formatTag !== WAVE_FORMAT_PCM) {
    throw unsupported(`${formatName(fmt.formatTag)} at ${fmt.bitsPerSample} bits`)
  }
  if (fmt.bitsPerSample !== 16) throw unsupported(`${fmt.bitsPerSample}-bit PCM`)
  if (fmt.channels < 1) throw new Error("invalid WAV: fmt chunk declares 0 channels")
  if (fmt.sampleRate < 1) throw new Error("invalid WAV: fmt chunk declares a sample rate of 0")
  if (fmt.blockAlign !== fmt.channels * 2) {
    throw new Error(`invalid WAV: block align ${fmt.blockAlign} does not match ${fmt.channels} channel(s) of 16 bits`)
  }
}

/** Averages the channels of interleaved PCM16 frames into one; drops a trailing partial frame. */
const downmix = (data: Uint8Array, channels: number): Uint8Array => {
  const frames = Math.floor(data.byteLength / (channels * 2))
  const input = new DataView(data.buffer, data.byteOffset, frames * channels * 2)
  const out = new Uint8Array(frames * 2)
  const output = new DataView(out.buffer)
  for (let f = 0; f < frames; f++) {
    let sum = 0
    for (let c = 0; c < channels; c++) sum += input.getInt16((f * channels + c) * 2, true)
    output.setInt16(f * 2, Math.round(sum / channels), true)
  }
  return out
}

/**
 * Parses a RIFF/WAVE file holding 16-bit integer PCM. Walks every chunk (skipping LIST, fact, cue, …,
 * honouring the pad byte after odd-sized chunks) and returns the samples as PCM16 mono.
 * Throws an Error naming what was found when the file is not a WAV or not 16-bit PCM.
 */
export const parseWav = (bytes: Uint8Array): ParsedWav => {
  if (bytes.byteLength < 12 || fourCC(bytes, 0) !== "RIFF" || fourCC(bytes, 8) !== "WAVE") {
    const head = bytes.byteLength >= 4 ? JSON.stringify(fourCC(bytes, 0)) : `${bytes.byteLength} bytes`
    throw new Error(`not a WAV file: expected a RIFF/WAVE header, found ${head}; ${SUPPORTED}`)
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let fmt: FmtChunk | null = null
  let data: Uint8Array | null = null
  let offset = 12
  while (offset + 8 <= bytes.byteLength) {
    const id = fourCC(bytes, offset)
    const declared = view.getUint32(offset + 4, true)
    const start = offset + 8
    // A streamed or truncated file may declare more than is there: take what is present.
    const size = Math.min(declared, bytes.byteLength - start)
    if (id === "fmt " && fmt === null) fmt = readFmt(bytes, start, size)
    else if (id === "data" && data === null) data = bytes.subarray(start, start + size)
    offset = start + declared + (declared & 1)
  }
  if (fmt === null) throw new Error("invalid WAV: no fmt chunk")
  checkFmt(fmt)
  if (data === null) throw new Error("invalid WAV: no data chunk")
  const pcm = fmt.channels === 1 ? data.slice(0, data.byteLength & ~1) : downmix(data, fmt.channels)
  return { sampleRate: fmt.sampleRate, channels: fmt.channels, bitsPerSample: fmt.bitsPerSample, pcm }
}

/** A PCM16 mono WAV file with the canonical 44-byte header. An odd trailing byte of `pcm` is dropped. */
export const encodeWav = (pcm: Uint8Array, sampleRate: number): Uint8Array => wavFile(pcm, sampleRate)

export type SupportedRate = (typeof SupportedSampleRates)[number]

/** True when the protocol accepts `rate` as is. */
export const isSupportedRate = (rate: number): rate is SupportedRate =>
  (SupportedSampleRates as ReadonlyArray<number>).includes(rate)

/** The supported sample rate nearest to `rate` (ties go to the higher rate); `rate` itself when supported. */
export const toSupportedRate = (rate: number): SupportedRate => {
  let best: SupportedRate = SupportedSampleRates[0]
  for (const candidate of SupportedSampleRates) {
    if (Math.abs(candidate - rate) <= Math.abs(best - rate)) best = candidate
  }
  return best
}

// Audio formats the protocol speaks: PCM16 little-endian mono at a declared sample rate.
import { Schema } from "effect"

/** Sample rates a client may declare for its microphone audio or ask for its reply audio. */
export const SupportedSampleRates = [8000, 16000, 22050, 24000, 44100, 48000] as const

export const SampleRate = Schema.Literals(SupportedSampleRates).annotate({
  description: `PCM sample rate in Hz, one of ${SupportedSampleRates.join(", ")}`
})
export type SampleRate = typeof SampleRate.Type

/** The one encoding of version 1: signed 16-bit little-endian samples, one channel. */
export const AudioFormat = Schema.Struct({
  encoding: Schema.Literal("pcm16"),
  sampleRate: SampleRate,
  channels: Schema.Literal(1)
})
export type AudioFormat = typeof AudioFormat.Type

export const DefaultInputFormat: AudioFormat = { encoding: "pcm16", sampleRate: 16000, channels: 1 }
export const DefaultOutputFormat: AudioFormat = { encoding: "pcm16", sampleRate: 24000, channels: 1 }

export const pcm16Format = (sampleRate: SampleRate): AudioFormat => ({ encoding: "pcm16", sampleRate, channels: 1 })

/** Bytes of PCM16 mono audio per millisecond at a sample rate. */
export const bytesPerMs = (format: AudioFormat): number => (format.sampleRate * 2) / 1000

/** Duration in milliseconds of a PCM16 mono buffer. */
export const durationMs = (format: AudioFormat, byteLength: number): number =>
  byteLength / 2 / (format.sampleRate / 1000)

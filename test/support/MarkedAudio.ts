// Audio for tests of the STT hand-off: frames marked by their first sample, so their order can be checked wherever
// they arrive, and a session's AudioGate opened without connection limits, as the source of an SttAudio.
import { type Cause, Effect, Queue } from "effect"
import type { AudioFormat } from "../../src/domain/Audio.ts"
import { type SttAudio, type SttInput, SttInputCapacity } from "../../src/pipeline/Stt.ts"
import type { ConnectionLimits } from "../../src/protection/ConnectionLimits.ts"
import { Allowed } from "../../src/protection/Limits.ts"
import { AudioGate } from "../../src/session/AudioGate.ts"

/** A frame of `bytes` bytes (20 ms at 16 kHz by default), silent but for its first sample, `marker`. */
export const markedFrame = (marker: number, bytes = 640): Uint8Array => {
  const pcm = new Uint8Array(bytes)
  new DataView(pcm.buffer).setInt16(0, marker, true)
  return pcm
}

export const markerOf = (pcm: Uint8Array): number => new DataView(pcm.buffer, pcm.byteOffset).getInt16(0, true)

/** A frame's marker, or "commit". */
export const itemMarker = (item: SttInput): number | "commit" =>
  item._tag === "Commit" ? "commit" : markerOf(item.pcm)

const unlimited: ConnectionLimits = { message: () => Allowed, audio: () => Allowed }

/** A session's audio gate, open at `format` with the session's STT buffer: the gate, the buffer and the SttAudio. */
export const openAudioGate = (format: AudioFormat) =>
  Effect.gen(function* () {
    const gate = new AudioGate(unlimited, 30_000)
    const buffer = yield* Queue.bounded<SttInput, Cause.Done>(SttInputCapacity)
    const audio: SttAudio = gate.open(buffer, format)
    return { gate, buffer, audio }
  })

// Tests for the command-line tools: the WAV reader/writer used by the test client, and the token script.
import { spawnSync } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { jwtVerify } from "jose"
import { describe, expect, it } from "vitest"
import { encodeWav, parseWav, toSupportedRate } from "../../scripts/wav.ts"
import { DevelopmentJwtSecret } from "../../src/config/AppConfig.ts"

// ---- building test files ----

const pcm16 = (samples: ReadonlyArray<number>): Uint8Array => {
  const out = new Uint8Array(samples.length * 2)
  const view = new DataView(out.buffer)
  for (const [i, s] of samples.entries()) view.setInt16(i * 2, s, true)
  return out
}

const samplesOf = (pcm: Uint8Array): Array<number> => {
  const view = new DataView(pcm.buffer, pcm.byteOffset, pcm.byteLength)
  return Array.from({ length: pcm.byteLength / 2 }, (_, i) => view.getInt16(i * 2, true))
}

const ascii = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0))

/** One RIFF chunk, with the pad byte after an odd-sized body. */
const chunk = (id: string, body: Uint8Array): Uint8Array => {
  const out = new Uint8Array(8 + body.byteLength + (body.byteLength & 1))
  out.set(ascii(id), 0)
  new DataView(out.buffer).setUint32(4, body.byteLength, true)
  out.set(body, 8)
  return out
}

const fmtBody = (o: { formatTag: number; channels: number; sampleRate: number; bits: number }): Uint8Array => {
  const body = new Uint8Array(16)
  const view = new DataView(body.buffer)
  const blockAlign = (o.channels * o.bits) / 8
  view.setUint16(0, o.formatTag, true)
  view.setUint16(2, o.channels, true)
  view.setUint32(4, o.sampleRate, true)
  view.setUint32(8, o.sampleRate * blockAlign, true)
  view.setUint16(12, blockAlign, true)
  view.setUint16(14, o.bits, true)
  return body
}

/** WAVE_FORMAT_EXTENSIBLE fmt body with the given subformat tag in the standard GUID. */
const extensibleFmtBody = (o: { subFormat: number; channels: number; sampleRate: number; bits: number }) => {
  const body = new Uint8Array(40)
  body.set(fmtBody({ formatTag: 0xfffe, channels: o.channels, sampleRate: o.sampleRate, bits: o.bits }))
  const view = new DataView(body.buffer)
  view.setUint16(16, 22, true)
  view.setUint16(18, o.bits, true)
  view.setUint32(20, o.channels === 1 ? 0x4 : 0x3, true)
  view.setUint16(24, o.subFormat, true)
  body.set([0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71], 26)
  return body
}

const riff = (...chunks: ReadonlyArray<Uint8Array>): Uint8Array => {
  const size = chunks.reduce((n, c) => n + c.byteLength, 4)
  const out = new Uint8Array(8 + size)
  out.set(ascii("RIFF"), 0)
  new DataView(out.buffer).setUint32(4, size, true)
  out.set(ascii("WAVE"), 8)
  let offset = 12
  for (const c of chunks) {
    out.set(c, offset)
    offset += c.byteLength
  }
  return out
}

const pcmFmt = (channels: number, sampleRate = 16000) =>
  chunk("fmt ", fmtBody({ formatTag: 1, channels, sampleRate, bits: 16 }))

// ---- parseWav / encodeWav ----

describe("encodeWav / parseWav", () => {
  it("round-trips PCM16 mono with a 44-byte header", () => {
    const samples = [0, 1, -1, 32767, -32768, 1234, -4321]
    const wav = encodeWav(pcm16(samples), 24000)
    expect(wav.byteLength).toBe(44 + samples.length * 2)
    const parsed = parseWav(wav)
    expect(parsed).toMatchObject({ sampleRate: 24000, channels: 1, bitsPerSample: 16 })
    expect(samplesOf(parsed.pcm)).toEqual(samples)
  })

  it("downmixes stereo to mono by averaging the channels", () => {
    const interleaved = [100, 300, -200, -400, 32767, 32767, 1000, -1000]
    const parsed = parseWav(riff(pcmFmt(2, 44100), chunk("data", pcm16(interleaved))))
    expect(parsed).toMatchObject({ sampleRate: 44100, channels: 2, bitsPerSample: 16 })
    expect(samplesOf(parsed.pcm)).toEqual([200, -300, 32767, 0])
  })

  it("skips a LIST chunk before the data chunk", () => {
    const list = chunk("LIST", ascii("INFOISFT\u000e\u0000\u0000\u0000Lavf60.16.100\u0000"))
    const parsed = parseWav(riff(pcmFmt(1), list, chunk("data", pcm16([5, 6, 7]))))
    expect(samplesOf(parsed.pcm)).toEqual([5, 6, 7])
  })

  it("honours the pad byte after an odd-sized chunk", () => {
    const odd = chunk("junk", Uint8Array.of(1, 2, 3))
    expect(odd.byteLength).toBe(12)
    const parsed = parseWav(riff(odd, pcmFmt(1, 8000), chunk("data", pcm16([-7, 8]))))
    expect(parsed.sampleRate).toBe(8000)
    expect(samplesOf(parsed.pcm)).toEqual([-7, 8])
  })

  it("accepts WAVE_FORMAT_EXTENSIBLE with the PCM subformat", () => {
    const fmt = chunk("fmt ", extensibleFmtBody({ subFormat: 1, channels: 1, sampleRate: 48000, bits: 16 }))
    const parsed = parseWav(riff(fmt, chunk("data", pcm16([9, -9]))))
    expect(parsed.sampleRate).toBe(48000)
    expect(samplesOf(parsed.pcm)).toEqual([9, -9])
  })

  it("takes the audio that is present when the data chunk declares more", () => {
    const wav = riff(pcmFmt(1), chunk("data", pcm16([1, 2, 3])))
    new DataView(wav.buffer).setUint32(40, 0xffffffff, true)
    expect(samplesOf(parseWav(wav).pcm)).toEqual([1, 2, 3])
  })
})

describe("parseWav errors", () => {
  it("rejects 8-bit PCM, naming what it found and what is supported", () => {
    const wav = riff(
      chunk("fmt ", fmtBody({ formatTag: 1, channels: 1, sampleRate: 8000, bits: 8 })),
      chunk("data", Uint8Array.of(128, 129))
    )
    expect(() => parseWav(wav)).toThrow(/8-bit PCM.*supported: 16-bit integer PCM/)
  })

  it("rejects 24-bit PCM", () => {
    const wav = riff(
      chunk("fmt ", fmtBody({ formatTag: 1, channels: 1, sampleRate: 48000, bits: 24 })),
      chunk("data", new Uint8Array(6))
    )
    expect(() => parseWav(wav)).toThrow(/24-bit PCM/)
  })

  it("rejects IEEE float (format 3)", () => {
    const wav = riff(
      chunk("fmt ", fmtBody({ formatTag: 3, channels: 1, sampleRate: 48000, bits: 32 })),
      chunk("data", new Uint8Array(8))
    )
    expect(() => parseWav(wav)).toThrow(/IEEE float \(0x0003\).*supported: 16-bit integer PCM/)
  })

  it("rejects float inside WAVE_FORMAT_EXTENSIBLE", () => {
    const fmt = chunk("fmt ", extensibleFmtBody({ subFormat: 3, channels: 2, sampleRate: 48000, bits: 32 }))
    expect(() => parseWav(riff(fmt, chunk("data", new Uint8Array(16))))).toThrow(/EXTENSIBLE with subformat IEEE float/)
  })

  it("rejects compressed formats", () => {
    const wav = riff(
      chunk("fmt ", fmtBody({ formatTag: 0x55, channels: 1, sampleRate: 44100, bits: 0 })),
      chunk("data", new Uint8Array(4))
    )
    expect(() => parseWav(wav)).toThrow(/MPEG Layer 3/)
  })

  it("rejects input that is not RIFF/WAVE", () => {
    expect(() => parseWav(ascii("ID3\u0004 this is an mp3 file"))).toThrow(/not a WAV file.*"ID3\\u0004"/)
    expect(() => parseWav(new Uint8Array(0))).toThrow(/not a WAV file/)
    const avi = riff(pcmFmt(1))
    avi.set(ascii("AVI "), 8)
    expect(() => parseWav(avi)).toThrow(/not a WAV file/)
  })

  it("reports a missing data or fmt chunk", () => {
    expect(() => parseWav(riff(pcmFmt(1)))).toThrow(/no data chunk/)
    expect(() => parseWav(riff(chunk("data", pcm16([1]))))).toThrow(/no fmt chunk/)
  })
})

describe("toSupportedRate", () => {
  it("keeps supported rates and maps others to the nearest supported one", () => {
    expect(toSupportedRate(16000)).toBe(16000)
    expect(toSupportedRate(44100)).toBe(44100)
    expect(toSupportedRate(11025)).toBe(8000)
    expect(toSupportedRate(32000)).toBe(24000)
    expect(toSupportedRate(96000)).toBe(48000)
    expect(toSupportedRate(1)).toBe(8000)
  })
})

// ---- scripts/token.ts ----

const tokenScript = fileURLToPath(new URL("../../scripts/token.ts", import.meta.url))
const secret = "0123456789abcdefghijklmnopqrstuvwxyzABCD"

const runToken = (args: ReadonlyArray<string>, env: Record<string, string | undefined>, cwd?: string) => {
  const { JWT_SECRET: _unset, ...inherited } = process.env
  return spawnSync(process.execPath, [tokenScript, ...args], {
    cwd: cwd ?? process.cwd(),
    env: { ...inherited, ...env },
    encoding: "utf8"
  })
}

describe("scripts/token.ts", () => {
  it("prints one HS256 token signed with JWT_SECRET, with the requested ttl", async () => {
    expect(secret).toHaveLength(40)
    const result = runToken(["--sub", "alice", "--ttl", "5m"], { JWT_SECRET: secret })
    expect(result.status).toBe(0)
    const lines = result.stdout.split("\n").filter((l) => l !== "")
    expect(lines).toHaveLength(1)
    const { payload, protectedHeader } = await jwtVerify(lines[0]!, new TextEncoder().encode(secret))
    expect(protectedHeader.alg).toBe("HS256")
    expect(payload.sub).toBe("alice")
    expect(payload.exp! - payload.iat!).toBe(300)
  })

  it("exits 2 on a bad --ttl or a missing --sub", () => {
    const badTtl = runToken(["--sub", "alice", "--ttl", "soon"], { JWT_SECRET: secret })
    expect(badTtl.status).toBe(2)
    expect(badTtl.stdout).toBe("")
    expect(badTtl.stderr).toMatch(/--ttl/)
    const noSub = runToken([], { JWT_SECRET: secret })
    expect(noSub.status).toBe(2)
    expect(noSub.stderr).toMatch(/usage/)
  })

  it("reads JWT_SECRET from ./.env, and falls back to the development secret with a warning", async () => {
    const dir = mkdtempSync(join(tmpdir(), "voice-stream-token-"))
    try {
      const fallback = runToken(["--sub", "bob"], {}, dir)
      expect(fallback.status).toBe(0)
      expect(fallback.stderr).toMatch(/development/i)
      await jwtVerify(fallback.stdout.trim(), new TextEncoder().encode(DevelopmentJwtSecret))

      writeFileSync(join(dir, ".env"), `# local settings\nSTREAM_WS_PORT=3001\nJWT_SECRET="${secret}"\n`)
      const fromFile = runToken(["--sub", "bob"], {}, dir)
      expect(fromFile.status).toBe(0)
      const { payload } = await jwtVerify(fromFile.stdout.trim(), new TextEncoder().encode(secret))
      expect(payload.exp! - payload.iat!).toBe(3600)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

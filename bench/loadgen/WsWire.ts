// The load generator's own WebSocket client wire (RFC 6455), kept to what a bench client needs so it costs little per
// frame: the opening handshake on a raw TCP socket, client frames built once per distinct content (a zero mask key:
// valid, and the payload stays as it is), and a streaming reader that only counts binary payload bytes and decodes
// text, ping and close frames. No per-frame allocation on the audio paths.
import { createHash, randomBytes } from "node:crypto"

const Guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

export const Opcode = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const

/** Header size of a masked client frame carrying `length` payload bytes. */
const clientHeaderBytes = (length: number) => (length < 126 ? 2 : length < 65536 ? 4 : 10) + 4

/** Writes a final, masked (zero key) client frame header at `offset`; returns the payload's offset. */
const writeClientHeader = (target: Buffer, offset: number, opcode: number, length: number): number => {
  target[offset] = 0x80 | opcode
  let at = offset + 2
  if (length < 126) target[offset + 1] = 0x80 | length
  else if (length < 65536) {
    target[offset + 1] = 0x80 | 126
    target.writeUInt16BE(length, at)
    at += 2
  } else {
    target[offset + 1] = 0x80 | 127
    target.writeUInt32BE(Math.floor(length / 2 ** 32), at)
    target.writeUInt32BE(length >>> 0, at + 4)
    at += 8
  }
  target.writeUInt32BE(0, at) // the masking key: zero, so the masked payload equals the payload
  return at + 4
}

/** A whole client frame (FIN, masked with a zero key) around `payload`. */
export const clientFrame = (opcode: number, payload: Buffer): Buffer => {
  const frame = Buffer.alloc(clientHeaderBytes(payload.length) + payload.length)
  payload.copy(frame, writeClientHeader(frame, 0, opcode, payload.length))
  return frame
}

/** A text frame of `text` (the generator's messages are ASCII JSON). */
export const clientTextFrame = (text: string): Buffer => clientFrame(Opcode.text, Buffer.from(text, "utf8"))

/** The close frame `ws.close(1000)` sends: status 1000, no reason. */
export const CloseNormalFrame: Buffer = clientFrame(Opcode.close, Buffer.from([0x03, 0xe8]))

/** One buffer holding a `{"type":"ping","id":…}` text frame followed by `frame` (one write for the slot). */
export const pingThen = (id: number, frame: Buffer): Buffer => {
  const text = `{"type":"ping","id":${id}}`
  const header = clientHeaderBytes(text.length)
  const out = Buffer.allocUnsafe(header + text.length + frame.length)
  out.write(text, writeClientHeader(out, 0, Opcode.text, text.length), "latin1")
  frame.copy(out, header + text.length)
  return out
}

/** The opening handshake's request, and the `Sec-WebSocket-Accept` value the server must answer with. */
export const handshake = (url: URL, headers: Readonly<Record<string, string>>) => {
  const key = randomBytes(16).toString("base64")
  const lines = [
    `GET ${url.pathname}${url.search} HTTP/1.1`,
    `Host: ${url.host}`,
    "Connection: Upgrade",
    "Upgrade: websocket",
    "Sec-WebSocket-Version: 13",
    `Sec-WebSocket-Key: ${key}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)
  ]
  return {
    request: `${lines.join("\r\n")}\r\n\r\n`,
    accept: createHash("sha1")
      .update(key + Guid)
      .digest("base64")
  }
}

/** The status and (lower-cased) headers of an HTTP response head (without the blank line). */
export const parseResponseHead = (head: string) => {
  const [statusLine = "", ...lines] = head.split("\r\n")
  const status = Number(statusLine.split(" ")[1])
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(":")
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  return { status, headers }
}

/** What a FrameReader hands its owner: whole messages and control frames. */
export interface FrameHandler {
  /** A whole text message. */
  onText(text: string): void
  /** A whole binary message of `bytes` payload bytes (the payload itself is not kept). */
  onBinary(bytes: number): void
  onPing(payload: Buffer): void
  /** A close frame: its payload (status code and reason, possibly empty). */
  onClose(payload: Buffer): void
  /** Something `ws` would refuse (reserved bits, a masked server frame, an oversized text or control frame). */
  onProtocolError(reason: string): void
}

const MaxCollected = 1 << 20
const HeaderScratch = 14
const Empty = Buffer.alloc(0)

/** Streaming parser of server frames. Binary payload bytes are counted where they lie; text and control payloads
 *  are decoded straight from the chunk when a frame is whole in it, else collected. */
export class FrameReader {
  private readonly handler: FrameHandler
  /** Bytes of a header split across chunks. */
  private readonly header = Buffer.allocUnsafe(HeaderScratch)
  private headerHave = 0
  /** Payload bytes still to come of the current frame; -1 while reading a header. */
  private left = -1
  private opcode = 0
  private fin = false
  /** The data message in progress (text or binary, across continuation frames) and its size so far. */
  private messageOpcode = 0
  private messageBytes = 0
  /** Collected payload of the current text or control frame when it spans chunks (or fragments). */
  private collected: Buffer | undefined
  private collectedLength = 0
  private textParts: Array<Buffer> | undefined
  private failed = false

  constructor(handler: FrameHandler) {
    this.handler = handler
  }

  /** Consumes `chunk[start, end)`. The chunk may be reused by the caller afterwards: nothing refers to it. */
  push(chunk: Buffer, start: number, end: number) {
    let at = start
    while (at < end && !this.failed) {
      if (this.left < 0) {
        at = this.readHeader(chunk, at, end)
        continue
      }
      const take = Math.min(this.left, end - at)
      const dataOpcode = this.opcode === Opcode.continuation ? this.messageOpcode : this.opcode
      if (dataOpcode === Opcode.binary) this.messageBytes += take
      else if (this.collected === undefined && take === this.left) {
        // The whole (rest of the) payload is here and nothing was collected: decode it in place.
        this.frameDone(chunk, at, at + take)
        at += take
        continue
      } else {
        chunk.copy(this.collected!, this.collectedLength, at, at + take)
        this.collectedLength += take
      }
      at += take
      this.left -= take
      if (this.left === 0) this.frameDone(undefined, 0, 0)
    }
  }

  /** Reads a frame header from `chunk` at `at` (or finishes one begun in an earlier chunk); returns the new offset. */
  private readHeader(chunk: Buffer, at: number, end: number): number {
    let source = chunk
    let offset = at
    if (this.headerHave > 0 || end - at < 2 || end - at < this.headerSize(chunk[at + 1]!)) {
      // Split header: gather it in the scratch buffer.
      while (at < end && (this.headerHave < 2 || this.headerHave < this.headerSize(this.header[1]!))) {
        this.header[this.headerHave++] = chunk[at++]!
      }
      if (this.headerHave < 2 || this.headerHave < this.headerSize(this.header[1]!)) return at
      source = this.header
      offset = 0
      this.headerHave = 0
    }
    const b0 = source[offset]!
    const b1 = source[offset + 1]!
    const size = this.headerSize(b1)
    if ((b0 & 0x70) !== 0 || (b1 & 0x80) !== 0) return this.fail("RSV bits or MASK set on a server frame", end)
    const len7 = b1 & 0x7f
    const length =
      len7 < 126
        ? len7
        : len7 === 126
          ? source.readUInt16BE(offset + 2)
          : source.readUInt32BE(offset + 2) * 2 ** 32 + source.readUInt32BE(offset + 6)
    this.opcode = b0 & 0x0f
    this.fin = (b0 & 0x80) !== 0
    const control = this.opcode >= Opcode.close
    if (control && (length > 125 || !this.fin)) return this.fail("invalid control frame", end)
    if (this.opcode === Opcode.text || this.opcode === Opcode.binary) {
      if (this.messageOpcode !== 0) return this.fail("new message inside a fragmented one", end)
      this.messageOpcode = this.opcode
      this.messageBytes = 0
    } else if (this.opcode === Opcode.continuation) {
      if (this.messageOpcode === 0) return this.fail("continuation without a message", end)
    } else if (!control) return this.fail(`unknown opcode ${this.opcode}`, end)
    const collects = control || (this.opcode === Opcode.continuation ? this.messageOpcode : this.opcode) === Opcode.text
    if (collects && length > MaxCollected) return this.fail("text or control frame too large", end)
    const next = source === chunk ? at + size : at
    this.left = length
    this.collected = undefined
    this.collectedLength = 0
    // A text or control frame that spans chunks collects its payload (binary payload is only counted).
    if (collects && length > end - next) this.collected = Buffer.allocUnsafe(length)
    if (length === 0) this.frameDone(undefined, 0, 0)
    return next
  }

  private headerSize(b1: number) {
    const len7 = b1 & 0x7f
    return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + ((b1 & 0x80) !== 0 ? 4 : 0)
  }

  /** The current frame is complete; its payload is `chunk[start, end)` when given, else the collected bytes. */
  private frameDone(chunk: Buffer | undefined, start: number, end: number) {
    this.left = -1
    const payload =
      chunk !== undefined ? chunk.subarray(start, end) : (this.collected?.subarray(0, this.collectedLength) ?? Empty)
    this.collected = undefined
    this.collectedLength = 0
    switch (this.opcode) {
      case Opcode.close:
        this.failed = true // nothing after a close frame is read (as `ws`)
        this.handler.onClose(Buffer.from(payload))
        return
      case Opcode.ping:
        this.handler.onPing(Buffer.from(payload))
        return
      case Opcode.pong:
        return
    }
    if (this.messageOpcode === Opcode.text) {
      if (!this.fin || this.textParts !== undefined) {
        this.textParts ??= []
        this.textParts.push(Buffer.from(payload))
      }
      if (!this.fin) return
      const text =
        this.textParts === undefined ? payload.toString("utf8") : Buffer.concat(this.textParts).toString("utf8")
      this.textParts = undefined
      this.messageOpcode = 0
      this.handler.onText(text)
      return
    }
    if (!this.fin) return
    this.messageOpcode = 0
    this.handler.onBinary(this.messageBytes)
  }

  private fail(reason: string, end: number) {
    this.failed = true
    this.handler.onProtocolError(reason)
    return end
  }
}

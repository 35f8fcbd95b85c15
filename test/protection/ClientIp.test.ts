// Client IP: X-Forwarded-For is believed only from STREAM_TRUSTED_PROXIES; anyone else's header is ignored.
import { describe, expect, it } from "vitest"
import { TrustedProxies } from "../../src/protection/ClientIp.ts"

describe("client IP and trusted proxies", () => {
  const proxies = new TrustedProxies(["127.0.0.1", "10.0.0.0/8", "fd00::/8"])

  it("ignores X-Forwarded-For from an untrusted peer (a spoof)", () => {
    expect(proxies.clientIp("203.0.113.7", "1.2.3.4")).toBe("203.0.113.7")
    expect(new TrustedProxies([]).clientIp("127.0.0.1", "1.2.3.4")).toBe("127.0.0.1")
  })

  it("takes the nearest untrusted hop when the peer is a trusted proxy", () => {
    expect(proxies.clientIp("127.0.0.1", "198.51.100.9")).toBe("198.51.100.9")
    // A client that prepends its own fake hop cannot hide behind it: the proxy appended the real address.
    expect(proxies.clientIp("10.1.2.3", "6.6.6.6, 198.51.100.9, 10.0.0.5")).toBe("198.51.100.9")
    expect(proxies.clientIp("::ffff:127.0.0.1", "2001:db8::1")).toBe("2001:db8::1")
  })

  it("stops at a malformed hop and keeps the last good one; no header means the peer", () => {
    expect(proxies.clientIp("127.0.0.1", "not-an-ip, 10.0.0.5")).toBe("10.0.0.5")
    expect(proxies.clientIp("127.0.0.1", undefined)).toBe("127.0.0.1")
    expect(proxies.clientIp(undefined, undefined)).toBe("unknown")
  })

  it("rejects a malformed range", () => {
    expect(() => new TrustedProxies(["nope/8"])).toThrow()
  })
})

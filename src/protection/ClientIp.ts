// The client's IP address: the socket's peer, or the nearest untrusted hop of X-Forwarded-For when the peer is a
// trusted proxy (STREAM_TRUSTED_PROXIES). A header from anyone else is ignored, so it cannot be spoofed.
import { BlockList, isIP } from "node:net"

/** `::ffff:10.0.0.1` (IPv4 seen on a dual-stack socket) → `10.0.0.1`. */
export const normaliseIp = (address: string): string => {
  const trimmed = address.trim()
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(trimmed)
  return mapped?.[1] ?? trimmed
}

const family = (address: string): "ipv4" | "ipv6" | undefined => {
  const kind = isIP(address)
  return kind === 4 ? "ipv4" : kind === 6 ? "ipv6" : undefined
}

export class TrustedProxies {
  private readonly list = new BlockList()
  readonly size: number

  /** `cidrs`: addresses or CIDR ranges, IPv4 or IPv6. */
  constructor(cidrs: ReadonlyArray<string>) {
    for (const cidr of cidrs) {
      const [address = "", bits] = cidr.split("/")
      const net = normaliseIp(address)
      const type = family(net)
      if (type === undefined) throw new Error(`not an IP address: ${cidr}`)
      if (bits === undefined) this.list.addAddress(net, type)
      else this.list.addSubnet(net, Number(bits), type)
    }
    this.size = cidrs.length
  }

  trusts(address: string): boolean {
    const ip = normaliseIp(address)
    const type = family(ip)
    return type !== undefined && this.list.check(ip, type)
  }

  /**
   * The client address for a connection from `peer` carrying `forwardedFor` (the X-Forwarded-For header).
   * Walks the header from the right (the hop nearest to us) while the hop is a trusted proxy.
   */
  clientIp(peer: string | undefined, forwardedFor: string | undefined): string {
    let client = normaliseIp(peer ?? "unknown")
    if (forwardedFor === undefined || this.size === 0 || !this.trusts(client)) return client
    const hops = forwardedFor
      .split(",")
      .map(normaliseIp)
      .filter((hop) => hop.length > 0)
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i]!
      if (family(hop) === undefined) return client
      client = hop
      if (!this.trusts(hop)) return client
    }
    return client
  }
}

const cache = new WeakMap<ReadonlyArray<string>, TrustedProxies>()

/** The TrustedProxies for a settings list, built once per list. */
export const trustedProxiesFor = (cidrs: ReadonlyArray<string>): TrustedProxies => {
  let proxies = cache.get(cidrs)
  if (proxies === undefined) {
    proxies = new TrustedProxies(cidrs)
    cache.set(cidrs, proxies)
  }
  return proxies
}

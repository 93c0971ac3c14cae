/**
 * The client address behind trusted proxies (docs/configuration.md#core-variables, docs/rate-limits.md#whose-counter): the right-most
 * X-Forwarded-For hop that is not a trusted proxy, and never XFF from an untrusted peer.
 */

/** Whether an address (IPv4, IPv6 or IPv4-mapped IPv6) belongs to a trusted proxy. */
export type TrustedProxies = (ip: string) => boolean

/** A parsed address: IPv4 as a 32-bit number (fast path), IPv6 as a 128-bit bigint; IPv4-mapped IPv6 counts as IPv4. */
type Addr = { v6: false; n: number } | { v6: true; n: bigint }

const V4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/

function parseV4(s: string): number | undefined {
  const m = V4.exec(s)
  if (!m) return undefined
  let n = 0
  for (let i = 1; i <= 4; i++) {
    const part = m[i]!
    // '010' is octal to some parsers and decimal to others: refuse rather than guess.
    if (part.length > 1 && part[0] === '0') return undefined
    const b = Number(part)
    if (b > 255) return undefined
    n = n * 256 + b
  }
  return n
}

function parseV6(s: string): bigint | undefined {
  if (s.length > 45 || !/^[0-9a-fA-F:.]+$/.test(s)) return undefined
  let tail: number | undefined
  let text = s
  // A trailing dotted quad fills the last 32 bits (::ffff:1.2.3.4, ::1.2.3.4).
  const lastColon = s.lastIndexOf(':')
  if (s.includes('.')) {
    tail = parseV4(s.slice(lastColon + 1))
    if (tail === undefined) return undefined
    text = s.slice(0, lastColon + 1) + '0:0'
  }
  const halves = text.split('::')
  if (halves.length > 2) return undefined
  const groups = (h: string) => (h === '' ? [] : h.split(':'))
  const head = groups(halves[0]!)
  const rest = halves.length === 2 ? groups(halves[1]!) : []
  const missing = 8 - head.length - rest.length
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined
  let n = 0n
  for (const g of [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest]) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined
    n = (n << 16n) | BigInt(parseInt(g, 16))
  }
  if (tail !== undefined) n = (n & ~0xffffffffn) | BigInt(tail)
  return n
}

const MAPPED = 0xffffn << 32n

function parseAddr(raw: string): Addr | undefined {
  const s = raw.trim()
  if (!s.includes(':')) {
    const n = parseV4(s)
    return n === undefined ? undefined : { v6: false, n }
  }
  const n = parseV6(s.startsWith('[') && s.endsWith(']') ? s.slice(1, -1) : s)
  if (n === undefined) return undefined
  return n >> 32n === 0xffffn ? { v6: false, n: Number(n - MAPPED) } : { v6: true, n }
}

/** Canonical text: dotted IPv4 (mapped addresses unwrapped), compressed lower-case IPv6. */
function format(a: Addr): string {
  if (!a.v6) return `${a.n >>> 24}.${(a.n >>> 16) & 255}.${(a.n >>> 8) & 255}.${a.n & 255}`
  const g = Array.from({ length: 8 }, (_, i) => Number((a.n >> BigInt(112 - 16 * i)) & 0xffffn))
  // RFC 5952: the longest run (>= 2) of zero groups becomes '::', the first one on a tie.
  let best = -1
  let bestLen = 1
  for (let i = 0; i < 8; ) {
    let j = i
    while (j < 8 && g[j] === 0) j++
    if (j - i > bestLen) [best, bestLen] = [i, j - i]
    i = j > i ? j : i + 1
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(':')
  if (best < 0) return hex(g)
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`
}

/** Strips what proxies add around an address in X-Forwarded-For: brackets and an IPv4 port. */
function parseHop(raw: string): Addr | undefined {
  let s = raw.trim()
  const bracket = /^\[([^\]]+)\](?::\d+)?$/.exec(s)
  if (bracket) s = bracket[1]!
  else if (/^[\d.]+:\d+$/.test(s)) s = s.slice(0, s.indexOf(':'))
  return parseAddr(s)
}

type Range = { v6: false; base: number; mask: number } | { v6: true; base: bigint; mask: bigint }

function parseRange(entry: string): Range {
  const slash = entry.indexOf('/')
  const addr = parseAddr(slash < 0 ? entry : entry.slice(0, slash))
  const bitsText = slash < 0 ? undefined : entry.slice(slash + 1)
  if (!addr || (bitsText !== undefined && !/^\d{1,3}$/.test(bitsText))) {
    throw new Error(
      `Invalid TRUSTED_PROXIES entry "${entry}": expected an IP address or CIDR such as 10.0.0.0/8 or fd00::/8`,
    )
  }
  const mappedText = !addr.v6 && entry.includes(':')
  const width = addr.v6 ? 128 : 32
  let bits = bitsText === undefined ? width : Number(bitsText)
  // ::ffff:10.0.0.0/104 is written in IPv6 bits but matched as IPv4.
  if (mappedText && bitsText !== undefined) bits -= 96
  if (bits < 0 || bits > width) {
    throw new Error(
      `Invalid TRUSTED_PROXIES entry "${entry}": prefix length must be ${mappedText ? '96-128' : `0-${width}`}`,
    )
  }
  if (!addr.v6) {
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0
    return { v6: false, base: (addr.n & mask) >>> 0, mask }
  }
  const mask = ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - bits)) - 1n)
  return { v6: true, base: addr.n & mask, mask }
}

function inRanges(ranges: readonly Range[], a: Addr): boolean {
  for (const r of ranges) {
    if (r.v6 ? a.v6 && (a.n & r.mask) === r.base : !a.v6 && (a.n & r.mask) >>> 0 === r.base) return true
  }
  return false
}

const TRUST_NONE: TrustedProxies = () => false
/** Lets clientIp match already-parsed hops without formatting and parsing them again. */
const RANGES = new WeakMap<TrustedProxies, readonly Range[]>()

/** Parses TRUSTED_PROXIES; unset or empty trusts nobody. Throws an Error naming a bad entry. */
export function parseTrustedProxies(list: string | undefined): TrustedProxies {
  const entries = (list ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)
  if (entries.length === 0) return TRUST_NONE
  const ranges = entries.map(parseRange)
  const trusted: TrustedProxies = (ip) => {
    const a = parseAddr(ip)
    return a !== undefined && inRanges(ranges, a)
  }
  RANGES.set(trusted, ranges)
  return trusted
}

/** Cheap unwrap of the IPv4-mapped form runtimes report on dual-stack sockets. */
const normalizePeer = (ip: string) => (ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip)

/**
 * The address to attribute a request to. Without a known peer there is nothing to trust,
 * so XFF is ignored and the answer is 'unknown'.
 */
export function clientIp(peerIp: string | undefined, forwardedFor: string | null, trusted: TrustedProxies): string {
  if (!peerIp) return 'unknown'
  const peer = normalizePeer(peerIp)
  if (!forwardedFor || trusted === TRUST_NONE || !trusted(peer)) return peer
  // Walk from the proxy nearest to us outwards; the first hop no trusted proxy vouches for
  // is the client. Anything further left was written by that client and may be forged.
  const ranges = RANGES.get(trusted)
  const hops = forwardedFor.split(',')
  let last = peer
  for (let i = hops.length - 1; i >= 0; i--) {
    const a = parseHop(hops[i]!)
    if (!a) return last // malformed: nothing beyond it can be believed
    last = format(a)
    if (!(ranges ? inRanges(ranges, a) : trusted(last))) return last
  }
  return last
}

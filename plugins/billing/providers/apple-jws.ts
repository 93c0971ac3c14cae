/** App Store JWS verification as Apple's own library does it: x5c of three certificates up to a trusted root, valid at the signing date, marker OIDs, ES256. */
import { Buffer } from 'node:buffer'
import { X509Certificate } from 'node:crypto'
import { compactVerify } from 'jose'

export const LEAF_OID = '1.2.840.113635.100.6.11.1'
export const INTERMEDIATE_OID = '1.2.840.113635.100.6.2.1'

/** `decode`: not a JWS or not JSON (400 undecodable); `verify`: signature, chain or claims refused. */
export class AppleJwsError extends Error {
  constructor(
    readonly kind: 'decode' | 'verify',
    readonly reason: string,
  ) {
    super(`${kind === 'decode' ? 'Undecodable' : 'Unverifiable'} App Store payload: ${reason}`)
    this.name = 'AppleJwsError'
  }
}

const b64url = (part: string) => {
  if (!/^[A-Za-z0-9_-]*$/.test(part)) throw new AppleJwsError('decode', 'not base64url')
  return Buffer.from(part, 'base64url')
}

function json(part: string): Record<string, any> {
  try {
    const v = JSON.parse(b64url(part).toString('utf8'))
    if (v && typeof v === 'object' && !Array.isArray(v)) return v
  } catch (err) {
    if (err instanceof AppleJwsError) throw err
  }
  throw new AppleJwsError('decode', 'not a JSON object')
}

/** Reads a DER TLV at `pos`: tag, content start, content end. */
function tlv(der: Uint8Array, pos: number) {
  const tag = der[pos]!
  let len = der[pos + 1]!
  let start = pos + 2
  if (len & 0x80) {
    const n = len & 0x7f
    if (n < 1 || n > 4) throw new Error('bad DER length')
    len = 0
    for (let i = 0; i < n; i++) len = len * 256 + der[start + i]!
    start += n
  }
  if (start + len > der.length) throw new Error('truncated DER')
  return { tag, start, end: start + len }
}

function children(der: Uint8Array, start: number, end: number) {
  const out: ReturnType<typeof tlv>[] = []
  for (let p = start; p < end; ) {
    const t = tlv(der, p)
    out.push(t)
    p = t.end
  }
  return out
}

function oidText(bytes: Uint8Array): string {
  const arcs: number[] = []
  let v = 0
  for (const b of bytes) {
    v = v * 128 + (b & 0x7f)
    if (!(b & 0x80)) {
      arcs.push(v)
      v = 0
    }
  }
  const first = arcs.shift() ?? 0
  const head = first < 80 ? [Math.floor(first / 40), first % 40] : [2, first - 80]
  return [...head, ...arcs].join('.')
}

/** The OIDs of a certificate's X.509v3 extensions (tbsCertificate [3]). */
export function extensionOids(cert: X509Certificate): string[] {
  const der = new Uint8Array(cert.raw)
  const certificate = tlv(der, 0)
  const tbs = tlv(der, certificate.start)
  const ext = children(der, tbs.start, tbs.end).find((c) => c.tag === 0xa3)
  if (!ext) return []
  const list = tlv(der, ext.start)
  return children(der, list.start, list.end).map((e) => {
    const oid = tlv(der, e.start)
    return oid.tag === 0x06 ? oidText(der.subarray(oid.start, oid.end)) : ''
  })
}

const validAt = (c: X509Certificate, at: Date) => new Date(c.validFrom).getTime() <= at.getTime() && at.getTime() <= new Date(c.validTo).getTime()

/** Verifies the chain of `x5c` at `at`; returns the leaf, whose key signed the JWS. */
export function verifyChain(x5c: unknown, roots: readonly X509Certificate[], at: Date): X509Certificate {
  if (!Array.isArray(x5c) || x5c.length !== 3 || !x5c.every((c) => typeof c === 'string')) throw new AppleJwsError('verify', 'x5c must hold exactly three certificates')
  let certs: X509Certificate[]
  try {
    certs = x5c.map((c: string) => new X509Certificate(Buffer.from(c, 'base64')))
  } catch {
    throw new AppleJwsError('verify', 'x5c holds a malformed certificate')
  }
  const [leaf, intermediate] = certs as [X509Certificate, X509Certificate]
  const root = roots.find((r) => intermediate.checkIssued(r) && intermediate.verify(r.publicKey))
  if (!root) throw new AppleJwsError('verify', 'the chain does not lead to a trusted root')
  if (!intermediate.ca) throw new AppleJwsError('verify', 'the intermediate is not a CA')
  if (!leaf.checkIssued(intermediate) || !leaf.verify(intermediate.publicKey)) throw new AppleJwsError('verify', 'the leaf is not signed by the intermediate')
  for (const [name, c] of [['leaf', leaf], ['intermediate', intermediate], ['root', root]] as const) {
    if (!validAt(c, at)) throw new AppleJwsError('verify', `the ${name} certificate is not valid at the signing date`)
  }
  try {
    if (!extensionOids(leaf).includes(LEAF_OID)) throw new AppleJwsError('verify', 'the leaf lacks Apple\'s App Store marker OID')
    if (!extensionOids(intermediate).includes(INTERMEDIATE_OID)) throw new AppleJwsError('verify', 'the intermediate lacks Apple\'s marker OID')
  } catch (err) {
    if (err instanceof AppleJwsError) throw err
    throw new AppleJwsError('verify', 'unreadable certificate extensions')
  }
  return leaf
}

/**
 * Verifies one App Store JWS and returns its payload. The chain is checked at the payload's
 * `signedDate` (as Apple's library does offline), or now when `online` is set.
 */
export async function verifyAppleJws(jws: unknown, roots: readonly X509Certificate[], options: { online?: boolean; now?: Date } = {}): Promise<Record<string, any>> {
  if (typeof jws !== 'string') throw new AppleJwsError('decode', 'not a string')
  const parts = jws.split('.')
  if (parts.length !== 3) throw new AppleJwsError('decode', 'not a compact JWS')
  const header = json(parts[0]!)
  const payload = json(parts[1]!)
  if (header.alg !== 'ES256') throw new AppleJwsError('verify', 'alg must be ES256')
  const signedDate = typeof payload.signedDate === 'number' ? new Date(payload.signedDate) : undefined
  const at = options.online || !signedDate ? (options.now ?? new Date()) : signedDate
  const leaf = verifyChain(header.x5c, roots, at)
  try {
    await compactVerify(jws, leaf.publicKey, { algorithms: ['ES256'] })
  } catch {
    throw new AppleJwsError('verify', 'bad signature')
  }
  return payload
}

/** Just enough DER for the App Store checks: read TLVs, write the few types an OCSP request needs, and the X.509 fields they use. */
import { Buffer } from 'node:buffer'
import type { X509Certificate } from 'node:crypto'

export interface Tlv {
  tag: number
  /** Offset of the TLV's first byte (its tag). */
  pos: number
  /** Content start and end (exclusive). */
  start: number
  end: number
}

/** Reads a DER TLV at `pos`; throws on a truncated or indefinite-length one. */
export function tlv(der: Uint8Array, pos: number): Tlv {
  if (pos + 2 > der.length) throw new Error('truncated DER')
  const tag = der[pos]!
  let len = der[pos + 1]!
  let start = pos + 2
  if (len & 0x80) {
    const n = len & 0x7f
    if (n < 1 || n > 4 || start + n > der.length) throw new Error('bad DER length')
    len = 0
    for (let i = 0; i < n; i++) len = len * 256 + der[start + i]!
    start += n
  }
  if (start + len > der.length) throw new Error('truncated DER')
  return { tag, pos, start, end: start + len }
}

/** The TLVs inside a constructed value's content. */
export function children(der: Uint8Array, start: number, end: number): Tlv[] {
  const out: Tlv[] = []
  for (let p = start; p < end; ) {
    const t = tlv(der, p)
    if (t.end > end) throw new Error('truncated DER')
    out.push(t)
    p = t.end
  }
  return out
}

/** The children of `t`, which must carry `tag`. */
export function inside(der: Uint8Array, t: Tlv | undefined, tag: number, what: string): Tlv[] {
  return children(der, expectTag(t, tag, what).start, t!.end)
}

export function expectTag(t: Tlv | undefined, tag: number, what: string): Tlv {
  if (!t || t.tag !== tag)
    throw new Error(`${what}: expected tag 0x${tag.toString(16)}, got ${t ? `0x${t.tag.toString(16)}` : 'nothing'}`)
  return t
}

export const content = (der: Uint8Array, t: Tlv) => der.subarray(t.start, t.end)
/** The whole TLV (tag, length and content). */
export const whole = (der: Uint8Array, t: Tlv) => der.subarray(t.pos, t.end)

export function oidText(bytes: Uint8Array): string {
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

export const oidOf = (der: Uint8Array, t: Tlv | undefined, what: string) =>
  oidText(content(der, expectTag(t, 0x06, what)))

/** GeneralizedTime `YYYYMMDDHHMMSS[.fff]Z`. */
export function generalizedTime(der: Uint8Array, t: Tlv | undefined, what: string): Date {
  const text = Buffer.from(content(der, expectTag(t, 0x18, what))).toString('latin1')
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\.\d+)?Z$/.exec(text)
  if (!m) throw new Error(`${what}: not a GeneralizedTime`)
  const ms = m[7] ? Math.round(Number(`0${m[7]}`) * 1000) : 0
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, ms))
}

/** Encodes one TLV. */
export function encode(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const body = Buffer.concat(parts)
  const n = body.length
  const len =
    n < 0x80
      ? [n]
      : n < 0x100
        ? [0x81, n]
        : n < 0x10000
          ? [0x82, n >> 8, n & 0xff]
          : [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]
  return Buffer.concat([Uint8Array.of(tag, ...len), body])
}

export const sequence = (...parts: Uint8Array[]) => encode(0x30, ...parts)
export const octetString = (bytes: Uint8Array) => encode(0x04, bytes)
export const NULL = Uint8Array.of(0x05, 0x00)

export function oid(text: string): Uint8Array {
  const [a, b, ...rest] = text.split('.').map(Number)
  const bytes: number[] = []
  for (const arc of [a! * 40 + b!, ...rest]) {
    const chunk = [arc & 0x7f]
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80)
    bytes.push(...chunk)
  }
  return encode(0x06, Uint8Array.from(bytes))
}

/** The tbsCertificate fields the checks need, from a certificate's DER. */
export function certificateParts(cert: X509Certificate) {
  const der = new Uint8Array(cert.raw)
  const [tbs] = inside(der, tlv(der, 0), 0x30, 'Certificate')
  const fields = inside(der, tbs, 0x30, 'tbsCertificate')
  // version [0] is optional (absent for v1)
  const f = fields[0]?.tag === 0xa0 ? fields.slice(1) : fields
  const [serial, , , , subject, spki] = f
  const [, keyBits] = inside(der, spki, 0x30, 'subjectPublicKeyInfo')
  const key = content(der, expectTag(keyBits, 0x03, 'subjectPublicKey'))
  const extensions = new Map<string, Uint8Array>()
  const ext = f.find((c) => c.tag === 0xa3)
  if (ext) {
    for (const e of inside(der, children(der, ext.start, ext.end)[0], 0x30, 'extensions')) {
      const [id, ...rest] = inside(der, e, 0x30, 'extension')
      // critical BOOLEAN is optional; the value is the last field
      extensions.set(oidOf(der, id, 'extnID'), content(der, expectTag(rest[rest.length - 1], 0x04, 'extnValue')))
    }
  }
  return {
    /** The serialNumber INTEGER, whole (tag included). */
    serial: whole(der, expectTag(serial, 0x02, 'serialNumber')),
    /** The subject Name, whole. */
    subject: whole(der, expectTag(subject, 0x30, 'subject')),
    /** The subjectPublicKey BIT STRING's bits, without the unused-bits byte. */
    publicKeyBits: key.subarray(1),
    /** extnID → extnValue (the OCTET STRING's content). */
    extensions,
  }
}

/** OIDs in an extension value that is a SEQUENCE OF OBJECT IDENTIFIER (extended key usage). */
export function oidList(value: Uint8Array): string[] {
  return inside(value, tlv(value, 0), 0x30, 'SEQUENCE OF OID').map((t) => oidOf(value, t, 'OID'))
}

/**
 * OCSP (RFC 6960) client for the App Store certificate chain: asks the responder named in a
 * certificate's Authority Information Access whether it is revoked, and checks the signed answer.
 * Good answers are cached per certificate; failures never are.
 */
import { Buffer } from 'node:buffer'
import { createHash, verify, X509Certificate } from 'node:crypto'
import {
  certificateParts,
  children,
  content,
  expectTag,
  generalizedTime,
  inside,
  NULL,
  octetString,
  oid,
  oidList,
  oidOf,
  sequence,
  tlv,
  whole,
} from './der.ts'

const SHA1 = '1.3.14.3.2.26'
/** Response signature algorithms accepted, with their hash. */
const SIGNATURE_HASHES: Record<string, string> = {
  '1.2.840.10045.4.3.2': 'sha256', // ecdsa-with-SHA256
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.2.840.113549.1.1.11': 'sha256', // sha256WithRSAEncryption
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
}
const AUTHORITY_INFO_ACCESS = '1.3.6.1.5.5.7.1.1'
const AD_OCSP = '1.3.6.1.5.5.7.48.1'
const BASIC_RESPONSE = '1.3.6.1.5.5.7.48.1.1'
const EXT_KEY_USAGE = '2.5.29.37'
const KP_OCSP_SIGNING = '1.3.6.1.5.5.7.3.9'
const RESPONSE_STATUS = [
  'successful',
  'malformedRequest',
  'internalError',
  'tryLater',
  '4',
  'sigRequired',
  'unauthorized',
]
const SKEW_MS = 5 * 60_000

/** `refused`: the status is revoked or unknown, or the answer cannot be trusted; `unavailable`: no answer now (try later). */
export class OcspError extends Error {
  constructor(
    readonly kind: 'refused' | 'unavailable',
    readonly reason: string,
  ) {
    super(`OCSP ${kind}: ${reason}`)
    this.name = 'OcspError'
  }
}

const refused = (reason: string) => new OcspError('refused', reason)
const sha = (alg: string, data: Uint8Array) => createHash(alg).update(data).digest()
const validAt = (c: X509Certificate, at: Date) =>
  new Date(c.validFrom).getTime() <= at.getTime() && at.getTime() <= new Date(c.validTo).getTime()

/** The first http(s) OCSP responder URL in the certificate's Authority Information Access. */
export function ocspUrl(cert: X509Certificate): string | undefined {
  const value = certificateParts(cert).extensions.get(AUTHORITY_INFO_ACCESS)
  if (!value) return undefined
  for (const desc of inside(value, tlv(value, 0), 0x30, 'AuthorityInfoAccess')) {
    const [method, location] = inside(value, desc, 0x30, 'AccessDescription')
    // uniformResourceIdentifier [6] IMPLICIT IA5String
    if (oidOf(value, method, 'accessMethod') !== AD_OCSP || location?.tag !== 0x86) continue
    const url = Buffer.from(content(value, location)).toString('latin1')
    if (/^https?:\/\//i.test(url)) return url
  }
  return undefined
}

/** A DER OCSPRequest with one Request (SHA-1 CertID, no nonce, unsigned), as `openssl ocsp -no_nonce` builds it. */
export function ocspRequest(cert: X509Certificate, issuer: X509Certificate): Uint8Array {
  const { serial } = certificateParts(cert)
  const { subject, publicKeyBits } = certificateParts(issuer)
  const certId = sequence(
    sequence(oid(SHA1), NULL),
    octetString(sha('sha1', subject)),
    octetString(sha('sha1', publicKeyBits)),
    serial,
  )
  // OCSPRequest { TBSRequest { requestList { Request { CertID } } } }
  return sequence(sequence(sequence(sequence(certId))))
}

/** Checks a DER OCSPResponse for `cert` (issued by `issuer`) at `now`; returns its nextUpdate. Throws OcspError. */
export function checkOcspResponse(
  body: Uint8Array,
  cert: X509Certificate,
  issuer: X509Certificate,
  now: Date,
): { nextUpdate?: Date } {
  try {
    const top = tlv(body, 0)
    if (top.end !== body.length) throw new Error('trailing bytes')
    const [status, bytes] = inside(body, top, 0x30, 'OCSPResponse')
    const code = content(body, expectTag(status, 0x0a, 'responseStatus'))
    if (code.length !== 1) throw new Error('responseStatus')
    if (code[0] !== 0)
      throw new OcspError('unavailable', `the responder answered ${RESPONSE_STATUS[code[0]!] ?? code[0]}`)
    const [responseBytes] = inside(body, bytes, 0xa0, 'responseBytes')
    const [type, response] = inside(body, responseBytes, 0x30, 'ResponseBytes')
    if (oidOf(body, type, 'responseType') !== BASIC_RESPONSE) fail('not a basic OCSP response')
    return checkBasic(content(body, expectTag(response, 0x04, 'response')), cert, issuer, now)
  } catch (err) {
    if (err instanceof OcspError) throw err
    throw refused(`malformed OCSP response (${(err as Error).message})`)
  }
}

function fail(reason: string): never {
  throw refused(reason)
}

function checkBasic(der: Uint8Array, cert: X509Certificate, issuer: X509Certificate, now: Date) {
  const [tbs, sigAlg, sig, certs] = inside(der, tlv(der, 0), 0x30, 'BasicOCSPResponse')
  const algorithm = oidOf(der, inside(der, sigAlg, 0x30, 'signatureAlgorithm')[0], 'signatureAlgorithm')
  const hash = SIGNATURE_HASHES[algorithm] ?? fail(`unsupported OCSP signature algorithm ${algorithm}`)
  const bits = content(der, expectTag(sig, 0x03, 'signature'))
  if (bits[0] !== 0) throw new Error('signature has unused bits')
  checkSigner(
    whole(der, expectTag(tbs, 0x30, 'tbsResponseData')),
    hash,
    bits.subarray(1),
    certs ? inside(der, inside(der, certs, 0xa0, 'certs')[0], 0x30, 'certs').map((c) => whole(der, c)) : [],
    issuer,
    now,
  )

  const data = inside(der, tbs, 0x30, 'ResponseData')
  let i = 0
  if (data[i]?.tag === 0xa0) i++ // version [0] EXPLICIT, v1
  if (data[i]?.tag !== 0xa1 && data[i]?.tag !== 0xa2) throw new Error('responderID')
  generalizedTime(der, data[i + 1], 'producedAt')
  const single = inside(der, data[i + 2], 0x30, 'responses').find((r) =>
    matches(der, inside(der, r, 0x30, 'SingleResponse')[0], cert, issuer),
  )
  if (!single) fail('the OCSP response has no status for this certificate')
  const [, status, thisUpdateTlv, ...rest] = inside(der, single, 0x30, 'SingleResponse')
  // certStatus: good [0] IMPLICIT NULL, revoked [1] IMPLICIT RevokedInfo, unknown [2] IMPLICIT NULL
  if (status?.tag === 0xa1) fail('certificate revoked')
  if (status?.tag === 0x82) fail('certificate status unknown to the responder')
  if (status?.tag !== 0x80) throw new Error('certStatus')
  const thisUpdate = generalizedTime(der, thisUpdateTlv, 'thisUpdate')
  const next = rest.find((t) => t.tag === 0xa0)
  const nextUpdate = next ? generalizedTime(der, children(der, next.start, next.end)[0], 'nextUpdate') : undefined
  if (thisUpdate.getTime() > now.getTime() + SKEW_MS)
    fail('the OCSP response is not yet valid (thisUpdate in the future)')
  if (nextUpdate && nextUpdate.getTime() < now.getTime() - SKEW_MS)
    fail('the OCSP response is stale (nextUpdate has passed)')
  return { nextUpdate }
}

/** Does this CertID name `cert` of `issuer`: the SHA-1 CertID we asked about (serial, issuer name hash, issuer key hash)? */
function matches(
  der: Uint8Array,
  certIdTlv: ReturnType<typeof tlv> | undefined,
  cert: X509Certificate,
  issuer: X509Certificate,
): boolean {
  const [alg, nameHash, keyHash, serial] = inside(der, certIdTlv, 0x30, 'CertID')
  if (oidOf(der, inside(der, alg, 0x30, 'hashAlgorithm')[0], 'hashAlgorithm') !== SHA1) return false
  const c = certificateParts(cert)
  const i = certificateParts(issuer)
  return (
    Buffer.from(whole(der, expectTag(serial, 0x02, 'serialNumber'))).equals(c.serial) &&
    Buffer.from(content(der, expectTag(nameHash, 0x04, 'issuerNameHash'))).equals(sha('sha1', i.subject)) &&
    Buffer.from(content(der, expectTag(keyHash, 0x04, 'issuerKeyHash'))).equals(sha('sha1', i.publicKeyBits))
  )
}

const signs = (c: X509Certificate, hash: string, data: Uint8Array, signature: Uint8Array) => {
  try {
    return verify(hash, data, c.publicKey, signature)
  } catch {
    return false
  }
}

/** The response must be signed by the issuer, or by a responder certificate the issuer made for OCSP signing (valid now). */
function checkSigner(
  tbs: Uint8Array,
  hash: string,
  signature: Uint8Array,
  certs: Uint8Array[],
  issuer: X509Certificate,
  now: Date,
) {
  if (signs(issuer, hash, tbs, signature)) return
  for (const raw of certs) {
    let c: X509Certificate
    try {
      c = new X509Certificate(raw)
    } catch {
      continue
    }
    if (!signs(c, hash, tbs, signature)) continue
    if (!c.checkIssued(issuer) || !c.verify(issuer.publicKey))
      fail('the OCSP response is signed by a certificate the issuer did not issue')
    const eku = certificateParts(c).extensions.get(EXT_KEY_USAGE)
    if (!eku || !oidList(eku).includes(KP_OCSP_SIGNING))
      fail('the OCSP responder certificate lacks the OCSPSigning extended key usage')
    if (!validAt(c, now)) fail('the OCSP responder certificate is not valid now')
    return
  }
  fail('the OCSP response is not signed by the issuer or an authorised responder')
}

export interface OcspCheckerOptions {
  /** Per request, body included. Default 5000. */
  timeoutMs?: number
  /** Longest a good answer is kept, even when its nextUpdate is later. Default 15 minutes. */
  maxAgeMs?: number
  /** Cached certificates at most (oldest dropped first). Default 64. */
  maxEntries?: number
  fetch?: typeof fetch
}

export interface OcspChecker {
  /** Resolves when `cert` (already verified as issued by `issuer`) is good at `now`; else throws OcspError. */
  check(cert: X509Certificate, issuer: X509Certificate, now?: Date): Promise<void>
  /** Forgets every cached answer. */
  clear(): void
}

/** An OCSP client with a bounded cache of good answers; concurrent checks of one certificate share one request. */
export function createOcspChecker(o: OcspCheckerOptions = {}): OcspChecker {
  const timeoutMs = o.timeoutMs ?? 5000
  const maxAgeMs = o.maxAgeMs ?? 15 * 60_000
  const maxEntries = o.maxEntries ?? 64
  const goodUntil = new Map<string, number>()
  const pending = new Map<string, Promise<void>>()

  const query = async (cert: X509Certificate, issuer: X509Certificate, now: Date) => {
    let url: string | undefined
    let request: Uint8Array
    try {
      url = ocspUrl(cert)
      request = ocspRequest(cert, issuer)
    } catch (err) {
      throw refused(`unreadable certificate (${(err as Error).message})`)
    }
    if (!url) throw refused('the certificate names no OCSP responder')
    let body: Uint8Array
    try {
      const res = await (o.fetch ?? fetch)(url, {
        method: 'POST',
        headers: { 'content-type': 'application/ocsp-request', accept: 'application/ocsp-response' },
        body: new Uint8Array(request),
        signal: AbortSignal.timeout(timeoutMs),
      })
      if (res.status !== 200) {
        await res.body?.cancel().catch(() => {})
        throw new OcspError('unavailable', `the responder answered HTTP ${res.status}`)
      }
      body = new Uint8Array(await res.arrayBuffer())
    } catch (err) {
      if (err instanceof OcspError) throw err
      const e = err as Error
      throw new OcspError(
        'unavailable',
        e.name === 'TimeoutError'
          ? `no answer from ${url} within ${timeoutMs} ms`
          : `cannot reach ${url} (${e.message})`,
      )
    }
    return checkOcspResponse(body, cert, issuer, now)
  }

  return {
    check(cert, issuer, now = new Date()) {
      const key = `${cert.fingerprint256}/${issuer.fingerprint256}`
      const until = goodUntil.get(key)
      if (until !== undefined) {
        if (until > now.getTime()) return Promise.resolve()
        goodUntil.delete(key)
      }
      const running = pending.get(key)
      if (running) return running
      const p = query(cert, issuer, now)
        .then(({ nextUpdate }) => {
          const expires = Math.min(nextUpdate?.getTime() ?? Infinity, now.getTime() + maxAgeMs)
          if (expires <= now.getTime()) return
          if (goodUntil.size >= maxEntries) goodUntil.delete(goodUntil.keys().next().value!)
          goodUntil.set(key, expires)
        })
        .finally(() => pending.delete(key))
      pending.set(key, p)
      return p
    },
    clear() {
      goodUntil.clear()
    },
  }
}

/** App Store JWS verification as Apple's own library does it: x5c of three certificates up to a trusted root, valid at the signing date (or now, with OCSP revocation checks, when online), marker OIDs, ES256. */
import { Buffer } from 'node:buffer'
import { X509Certificate } from 'node:crypto'
import { compactVerify } from 'jose'
import { serviceUnavailable } from '../../../core/index.ts'
import { OcspError, type OcspChecker } from './apple-ocsp.ts'
import { certificateParts } from './der.ts'

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

/** The OIDs of a certificate's X.509v3 extensions. */
export function extensionOids(cert: X509Certificate): string[] {
  return [...certificateParts(cert).extensions.keys()]
}

const validAt = (c: X509Certificate, at: Date) =>
  new Date(c.validFrom).getTime() <= at.getTime() && at.getTime() <= new Date(c.validTo).getTime()

export interface AppleChain {
  leaf: X509Certificate
  intermediate: X509Certificate
  root: X509Certificate
}

/** Verifies the chain of `x5c` at `at`; the leaf's key signed the JWS. */
export function verifyChain(x5c: unknown, roots: readonly X509Certificate[], at: Date): AppleChain {
  if (!Array.isArray(x5c) || x5c.length !== 3 || !x5c.every((c) => typeof c === 'string'))
    throw new AppleJwsError('verify', 'x5c must hold exactly three certificates')
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
  if (!leaf.checkIssued(intermediate) || !leaf.verify(intermediate.publicKey))
    throw new AppleJwsError('verify', 'the leaf is not signed by the intermediate')
  for (const [name, c] of [
    ['leaf', leaf],
    ['intermediate', intermediate],
    ['root', root],
  ] as const) {
    if (!validAt(c, at)) throw new AppleJwsError('verify', `the ${name} certificate is not valid at the signing date`)
  }
  try {
    if (!extensionOids(leaf).includes(LEAF_OID))
      throw new AppleJwsError('verify', "the leaf lacks Apple's App Store marker OID")
    if (!extensionOids(intermediate).includes(INTERMEDIATE_OID))
      throw new AppleJwsError('verify', "the intermediate lacks Apple's marker OID")
  } catch (err) {
    if (err instanceof AppleJwsError) throw err
    throw new AppleJwsError('verify', 'unreadable certificate extensions')
  }
  return { leaf, intermediate, root }
}

/**
 * Revocation of the chain, as Apple's library checks it online: the leaf against the intermediate
 * and the intermediate against the root, in parallel. A revoked or unknown status (or an answer
 * that cannot be trusted) refuses the JWS; no answer at all is 503, so the provider redelivers.
 */
async function checkRevocation({ leaf, intermediate, root }: AppleChain, ocsp: OcspChecker, now: Date) {
  const results = await Promise.allSettled([ocsp.check(intermediate, root, now), ocsp.check(leaf, intermediate, now)])
  const errors = results.map((r, i) =>
    r.status === 'rejected' ? { name: i === 0 ? 'intermediate' : 'leaf', err: r.reason as unknown } : undefined,
  )
  // A definitive answer (revoked, untrusted response) wins over an unreachable responder.
  for (const e of errors) {
    if (e && !(e.err instanceof OcspError && e.err.kind === 'unavailable')) {
      if (e.err instanceof OcspError)
        throw new AppleJwsError('verify', `OCSP check of the ${e.name} certificate: ${e.err.reason}`)
      throw e.err
    }
  }
  for (const e of errors) {
    if (e)
      throw serviceUnavailable('The App Store certificate status cannot be checked now (OCSP); retry later', {
        provider: 'apple',
        reason: `OCSP check of the ${e.name} certificate: ${(e.err as OcspError).reason}`,
      })
  }
}

export interface VerifyAppleJwsOptions {
  /**
   * APPLE_ONLINE_CHECKS: validity now instead of at signedDate, and revocation checked with this
   * OCSP client (the billing service's, one per app, whose cache its checks share).
   */
  ocsp?: OcspChecker
  now?: Date
}

/**
 * Verifies one App Store JWS and returns its payload. The chain is checked at the payload's
 * `signedDate` (as Apple's library does offline), or, when `ocsp` is given, at the current time
 * and against Apple's OCSP responders. Throws AppleJwsError, or a 503 AppError when a responder
 * cannot be reached.
 */
export async function verifyAppleJws(
  jws: unknown,
  roots: readonly X509Certificate[],
  options: VerifyAppleJwsOptions = {},
): Promise<Record<string, any>> {
  if (typeof jws !== 'string') throw new AppleJwsError('decode', 'not a string')
  const parts = jws.split('.')
  if (parts.length !== 3) throw new AppleJwsError('decode', 'not a compact JWS')
  const header = json(parts[0]!)
  const payload = json(parts[1]!)
  if (header.alg !== 'ES256') throw new AppleJwsError('verify', 'alg must be ES256')
  const signedDate = typeof payload.signedDate === 'number' ? new Date(payload.signedDate) : undefined
  const now = options.now ?? new Date()
  const chain = verifyChain(header.x5c, roots, options.ocsp || !signedDate ? now : signedDate)
  if (options.ocsp) await checkRevocation(chain, options.ocsp, now)
  try {
    await compactVerify(jws, chain.leaf.publicKey, { algorithms: ['ES256'] })
  } catch {
    throw new AppleJwsError('verify', 'bad signature')
  }
  return payload
}

/** Bearer JWT verification against one configured source (HS256 secret or a JWKS), with a cache of verified tokens (docs/auth.md#bearer-tokens). */
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyOptions } from 'jose'
import { AppError, serviceUnavailable, unauthenticated } from '../errors/index.ts'
import { createTokenCache } from './token-cache.ts'

export interface AuthConfig {
  /** AUTH_JWT_SECRET: HS256 (Supabase legacy). Ignored when `jwksUrl` is set. */
  jwtSecret?: string
  /** AUTH_JWKS_URL: RS256 / ES256 keys (Supabase, Clerk, custom OAuth). */
  jwksUrl?: string
  /** AUTH_JWT_ISSUER: checked when set. */
  issuer?: string
  /** AUTH_JWT_AUDIENCE: checked when set. */
  audience?: string
  /** Leeway after `exp` (docs/auth.md). @default 30 */
  leewaySeconds?: number
  /** AUTH_REQUIRE_EXP: refuse a token without `exp`. @default true */
  requireExp?: boolean
  /** AUTH_CLOCK_SKEW_SECONDS: how far in the future `iat` and `nbf` may be. @default 60 */
  clockSkewSeconds?: number
}

export interface VerifiedClaims {
  sub: string
  email?: string
  name?: string
  exp?: number
  iat?: number
  act?: { sub: string }
  [claim: string]: unknown
}

export interface TokenVerifier {
  /** False when neither a secret nor a JWKS URL is set. */
  readonly configured: boolean
  /** Synchronous fast path: claims of a token verified earlier and not yet expired, else undefined. */
  cached(token: string): VerifiedClaims | undefined
  /** Full verification; throws unauthenticated(<reason>) on any failure. Caches successes. */
  verify(token: string): Promise<VerifiedClaims>
  /** Drop one token (revocation) or all from the cache. */
  forget(token?: string): void
}

export interface TokenVerifierOptions {
  /** Most verified tokens kept. @default 10_000 */
  cacheSize?: number
  /** Clock in epoch milliseconds for claim checks and cache expiry. @default Date.now */
  now?: () => number
  /** Least time between two JWKS fetches caused by an unknown `kid`. @default 30_000 */
  jwksCooldownMs?: number
  /** JWKS fetch timeout. @default 5_000 */
  fetchTimeoutMs?: number
}

// docs/auth.md#bearer-tokens: one source, so an HS256 token can never be checked against a public key (or the reverse).
const JWKS_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512']
const SECRET_ALGORITHMS = ['HS256']
/** A token without `exp` is re-verified at least this often. */
const NO_EXP_CACHE_MS = 5 * 60_000
// Real tokens are 1-2 KB; refusing huge ones early keeps parse cost and cache memory bounded.
const MAX_TOKEN_LENGTH = 16_384

type Key = Parameters<typeof jwtVerify>[1]

export function createTokenVerifier(config: AuthConfig, options: TokenVerifierOptions = {}): TokenVerifier {
  const now = options.now ?? Date.now
  const leeway = config.leewaySeconds ?? 30
  const skew = config.clockSkewSeconds ?? 60
  const requireExp = config.requireExp ?? true
  if (!Number.isFinite(leeway) || leeway < 0 || !Number.isFinite(skew) || skew < 0) {
    throw new TypeError('leewaySeconds and clockSkewSeconds must be non-negative numbers')
  }
  const jwksUrl = config.jwksUrl || undefined
  const secret = config.jwtSecret || undefined
  const configured = jwksUrl !== undefined || secret !== undefined
  const cache = createTokenCache<VerifiedClaims>({ maxEntries: options.cacheSize, now })

  let key: Key | undefined
  if (jwksUrl !== undefined) {
    let url: URL
    try {
      url = new URL(jwksUrl)
    } catch {
      throw new TypeError('AUTH_JWKS_URL must be an absolute URL')
    }
    // jose keeps the keys and refetches on an unknown kid, at most once per cooldown.
    key = createRemoteJWKSet(url, {
      cooldownDuration: options.jwksCooldownMs ?? 30_000,
      timeoutDuration: options.fetchTimeoutMs ?? 5_000,
    })
  } else if (secret !== undefined) {
    // Supabase uses the secret's UTF-8 bytes as the HMAC key, not a base64 decoding of it.
    key = new TextEncoder().encode(secret)
  }
  const algorithms = jwksUrl !== undefined ? JWKS_ALGORITHMS : SECRET_ALGORITHMS

  const verifyOptions = (): JWTVerifyOptions => ({
    algorithms,
    issuer: config.issuer || undefined,
    audience: config.audience || undefined,
    requiredClaims: requireExp ? ['exp'] : [],
    // jose applies one tolerance to every time claim; `exp` gets its own, shorter leeway below.
    clockTolerance: Math.max(leeway, skew),
    currentDate: new Date(now()),
  })

  const check = async (token: string, k: Key): Promise<JWTPayload> => {
    try {
      return (await jwtVerify(token, k, verifyOptions())).payload
    } catch (err) {
      if (!(err instanceof errors.JWKSMultipleMatchingKeys)) throw err
      // A kid-less token matching several keys: jose leaves it to the caller to try each.
      for await (const candidate of err) {
        try {
          return (await jwtVerify(token, candidate, verifyOptions())).payload
        } catch (inner) {
          if (!(inner instanceof errors.JWSSignatureVerificationFailed)) throw inner
        }
      }
      throw new errors.JWSSignatureVerificationFailed()
    }
  }

  return {
    configured,
    cached(token) {
      return configured ? cache.get(token) : undefined
    },
    async verify(token) {
      if (!token) throw unauthenticated('Missing token')
      if (key === undefined) throw unauthenticated('Authentication is not configured')
      const hit = cache.get(token)
      if (hit !== undefined) return hit
      if (token.length > MAX_TOKEN_LENGTH) throw unauthenticated('Malformed token')
      let payload: JWTPayload
      try {
        payload = await check(token, key)
      } catch (err) {
        throw toAuthError(err, jwksUrl !== undefined)
      }
      const claims = toClaims(payload)
      checkTimes(claims, now() / 1000, leeway, skew)
      // Hits are served until exp exactly: the leeway only softens the full check.
      cache.set(token, claims, claims.exp !== undefined ? claims.exp * 1000 : now() + NO_EXP_CACHE_MS)
      return claims
    },
    forget(token) {
      if (token === undefined) cache.clear()
      else cache.delete(token)
    },
  }
}

/** `exp` within its leeway; `iat` and `nbf` at most `skew` seconds ahead (a token from the future is forged or misissued). */
function checkTimes(claims: VerifiedClaims, nowSeconds: number, leeway: number, skew: number): void {
  if (claims.exp !== undefined && claims.exp + leeway <= nowSeconds) throw unauthenticated('Token expired')
  if (typeof claims.iat === 'number' && claims.iat > nowSeconds + skew)
    throw unauthenticated('Token issued in the future')
  const nbf = claims.nbf
  if (typeof nbf === 'number' && nbf > nowSeconds + skew) throw unauthenticated('Token not yet valid')
}

function toClaims(payload: JWTPayload): VerifiedClaims {
  const { sub, act } = payload
  if (typeof sub !== 'string' || sub === '') throw unauthenticated('Token has no subject')
  if (act !== undefined) {
    const actor = act as { sub?: unknown } | null
    if (typeof actor !== 'object' || actor === null || typeof actor.sub !== 'string' || !actor.sub) {
      throw unauthenticated('Token has an invalid actor')
    }
    Object.freeze(actor)
  }
  // The same object is handed to every request that presents this token: nobody may edit it.
  return Object.freeze(payload) as VerifiedClaims
}

/** Short, safe reasons: never the token, the key or jose's own wording. */
function toAuthError(err: unknown, remoteKeys: boolean): unknown {
  if (err instanceof AppError) return err
  if (err instanceof errors.JWTExpired) return unauthenticated('Token expired')
  if (err instanceof errors.JWSSignatureVerificationFailed) {
    return unauthenticated('Invalid token signature')
  }
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) {
    return unauthenticated('Token algorithm not allowed')
  }
  if (err instanceof errors.JWKSNoMatchingKey) return unauthenticated('Unknown token signing key')
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'iss') return unauthenticated('Token issuer not accepted')
    if (err.claim === 'aud') return unauthenticated('Token audience not accepted')
    if (err.claim === 'nbf') return unauthenticated('Token not yet valid')
    if (err.claim === 'exp') return unauthenticated('Token has no expiry')
    if (err.claim === 'iat') return unauthenticated('Token issued in the future')
    return unauthenticated('Invalid token claims')
  }
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) {
    return unauthenticated('Malformed token')
  }
  // The key set could not be fetched or read (timeout, non-200, bad JSON, network error, a key
  // jose refuses): the identity provider's fault, not the caller's, so clients must not drop
  // their session over it. 503, with the cause kept for the log.
  if (remoteKeys) {
    const unavailable = serviceUnavailable('Token signing keys are unavailable')
    Object.defineProperty(unavailable, 'cause', { value: err })
    return unavailable
  }
  if (err instanceof errors.JOSEError) return unauthenticated('Invalid token')
  return err
}

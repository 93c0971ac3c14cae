/** Token verification against a real loopback JWKS server and an HS256 secret (docs/auth.md#bearer-tokens). */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose'
import { AppError } from '../errors/index.ts'
import { createTokenVerifier, type TokenVerifier } from './jwt.ts'
import { createTokenCache } from './token-cache.ts'

const SECRET = 'jwt-test-secret-0123456789abcdef-0123'
const ISSUER = 'https://issuer.example.com'
const AUDIENCE = 'omnistack'
const T0 = 1_800_000_000 // a fixed "now" in seconds for the clock-driven tests
const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')

type Pair = { privateKey: CryptoKey; publicKey: CryptoKey }
let rs1: Pair, es1: Pair, rs2: Pair
let served: JWK[] = []
let fetches = 0
let server: ReturnType<typeof Bun.serve>
let base = ''

const jwk = async (pair: Pair, kid: string, alg: string) => ({
  ...(await exportJWK(pair.publicKey)),
  kid,
  alg,
  use: 'sig',
})

beforeAll(async () => {
  ;[rs1, es1, rs2] = await Promise.all([generateKeyPair('RS256'), generateKeyPair('ES256'), generateKeyPair('RS256')])
  served = [await jwk(rs1, 'rs1', 'RS256'), await jwk(es1, 'es1', 'ES256')]
  server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(req) {
      const path = new URL(req.url).pathname
      if (path === '/jwks.json') {
        fetches++
        return Response.json({ keys: served })
      }
      if (path === '/slow') await Bun.sleep(1_000)
      return new Response('nope', { status: 500 })
    },
  })
  base = `http://127.0.0.1:${server.port}`
})
afterAll(() => server?.stop(true))

interface SignOpts {
  alg?: string
  kid?: string
  sub?: string | null
  iss?: string
  aud?: string
  exp?: number | null
  claims?: Record<string, unknown>
}
function sign(key: CryptoKey | Uint8Array, o: SignOpts = {}) {
  const jwt = new SignJWT({ email: 'a@example.com', ...o.claims }).setProtectedHeader({
    alg: o.alg ?? 'RS256',
    ...(o.kid ? { kid: o.kid } : {}),
  })
  if (o.sub !== null) jwt.setSubject(o.sub ?? 'user_1')
  if (o.iss) jwt.setIssuer(o.iss)
  if (o.aud) jwt.setAudience(o.aud)
  if (o.exp !== null) jwt.setExpirationTime(o.exp ?? '10m')
  return jwt.sign(key)
}
const hs = (o: SignOpts = {}, secret = SECRET) => sign(new TextEncoder().encode(secret), { alg: 'HS256', ...o })
const rsToken = (o: SignOpts = {}) => sign(rs1.privateKey, { kid: 'rs1', iss: ISSUER, aud: AUDIENCE, ...o })

async function rejects(verifier: TokenVerifier, token: string, message: string, status = 401) {
  const err = await verifier.verify(token).then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(AppError)
  const app = err as AppError
  expect({ status: app.status, message: app.message }).toEqual({ status, message })
  expect(app.errorCode).toBe(status === 401 ? 'AUTHENTICATION_ERROR' : 'SERVICE_UNAVAILABLE')
  // Never echo the token: no part of it long enough to mean anything appears in the error.
  for (const part of token.split('.').filter((p) => p.length >= 8)) {
    expect(JSON.stringify({ m: app.message, d: app.details })).not.toContain(part.slice(0, 16))
  }
}

describe('token verifier: HS256 secret', () => {
  const verifier = createTokenVerifier({ jwtSecret: SECRET })

  it('accepts a token signed with the secret and returns its claims', async () => {
    const claims = await verifier.verify(await hs({ claims: { name: 'Ann' } }))
    expect(claims).toMatchObject({ sub: 'user_1', email: 'a@example.com', name: 'Ann' })
    expect(Object.isFrozen(claims)).toBe(true)
  })

  it('refuses a missing, malformed or oversized token', async () => {
    await rejects(verifier, '', 'Missing token')
    await rejects(verifier, 'not.a.jwt', 'Malformed token')
    await rejects(verifier, 'abc', 'Malformed token')
    await rejects(verifier, `${b64({ alg: 'HS256' })}.${'a'.repeat(20_000)}.x`, 'Malformed token')
  })

  it('refuses another secret and a tampered payload as a bad signature', async () => {
    await rejects(verifier, await hs({}, 'another-secret-another-secret-xx'), 'Invalid token signature')
    const [h, , s] = (await hs()).split('.')
    await rejects(
      verifier,
      `${h}.${b64({ sub: 'admin', exp: Math.floor(Date.now() / 1000) + 600 })}.${s}`,
      'Invalid token signature',
    )
  })

  it('refuses alg none and RS256 tokens', async () => {
    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'user_1', exp: Math.floor(Date.now() / 1000) + 600 })}.`
    await rejects(verifier, none, 'Token algorithm not allowed')
    await rejects(verifier, await sign(rs1.privateKey, { kid: 'rs1' }), 'Token algorithm not allowed')
  })

  it('refuses a token without sub, an empty sub or a malformed actor', async () => {
    await rejects(verifier, await hs({ sub: null }), 'Token has no subject')
    await rejects(verifier, await hs({ sub: '' }), 'Token has no subject')
    await rejects(verifier, await hs({ claims: { act: 'admin_1' } }), 'Token has an invalid actor')
    const claims = await verifier.verify(await hs({ claims: { act: { sub: 'admin_1' } } }))
    expect(claims.act).toEqual({ sub: 'admin_1' })
  })

  it('is not configured without secret or JWKS and says so', async () => {
    const none = createTokenVerifier({ jwtSecret: '', jwksUrl: '' })
    expect(none.configured).toBe(false)
    expect(verifier.configured).toBe(true)
    const token = await hs()
    await rejects(none, token, 'Authentication is not configured')
    expect(none.cached(token)).toBeUndefined()
  })
})

describe('token verifier: expiry and the cache', () => {
  let clock = T0 * 1000
  const make = (cacheSize?: number) => createTokenVerifier({ jwtSecret: SECRET }, { now: () => clock, cacheSize })

  it('accepts a token expired within the 30 s leeway and refuses one beyond it', async () => {
    const verifier = make()
    const token = await hs({ exp: T0 })
    clock = (T0 + 29) * 1000
    expect((await verifier.verify(token)).sub).toBe('user_1')
    // Past exp a hit is a miss: the token is re-verified each time and never cached.
    expect(verifier.cached(token)).toBeUndefined()
    clock = (T0 + 31) * 1000
    await rejects(verifier, token, 'Token expired')
  })

  it('serves a verified token from the cache until exp exactly', async () => {
    const verifier = make()
    const token = await hs({ exp: T0 + 60 })
    clock = T0 * 1000
    const claims = await verifier.verify(token)
    expect(verifier.cached(token)).toBe(claims)
    expect(await verifier.verify(token)).toBe(claims)
    expect(verifier.cached(await hs({ sub: 'someone_else' }))).toBeUndefined()
    clock = (T0 + 59) * 1000
    expect(verifier.cached(token)).toBe(claims)
    clock = (T0 + 60) * 1000
    expect(verifier.cached(token)).toBeUndefined()
    clock = (T0 + 91) * 1000
    await rejects(verifier, token, 'Token expired')
  })

  it('refuses a token without exp by default (AUTH_REQUIRE_EXP)', async () => {
    clock = T0 * 1000
    await rejects(make(), await hs({ exp: null }), 'Token has no expiry')
  })

  it('refuses iat or nbf beyond the clock skew and accepts them within it', async () => {
    clock = T0 * 1000
    const verifier = createTokenVerifier({ jwtSecret: SECRET, clockSkewSeconds: 60 }, { now: () => clock })
    const ahead = (claims: Record<string, unknown>) => hs({ exp: T0 + 3600, claims })
    await rejects(verifier, await ahead({ iat: T0 + 365 * 86400 }), 'Token issued in the future')
    await rejects(verifier, await ahead({ iat: T0 + 61 }), 'Token issued in the future')
    await rejects(verifier, await ahead({ nbf: T0 + 120 }), 'Token not yet valid')
    expect((await verifier.verify(await ahead({ iat: T0 + 59, nbf: T0 + 59 }))).sub).toBe('user_1')
  })

  it('keeps a token without exp (when allowed) for at most 5 minutes', async () => {
    const verifier = createTokenVerifier({ jwtSecret: SECRET, requireExp: false }, { now: () => clock })
    const token = await hs({ exp: null })
    clock = T0 * 1000
    const claims = await verifier.verify(token)
    clock = T0 * 1000 + 299_999
    expect(verifier.cached(token)).toBe(claims)
    clock = T0 * 1000 + 300_000
    expect(verifier.cached(token)).toBeUndefined()
  })

  it('forgets one token or all of them', async () => {
    const verifier = make()
    clock = T0 * 1000
    const [a, b] = await Promise.all([hs({ sub: 'a', exp: T0 + 600 }), hs({ sub: 'b', exp: T0 + 600 })])
    await verifier.verify(a)
    await verifier.verify(b)
    verifier.forget(a)
    expect(verifier.cached(a)).toBeUndefined()
    expect(verifier.cached(b)?.sub).toBe('b')
    verifier.forget()
    expect(verifier.cached(b)).toBeUndefined()
  })

  it('holds its size bound and evicts the least recently used token', async () => {
    const verifier = make(3)
    clock = T0 * 1000
    const tokens = await Promise.all(['u0', 'u1', 'u2', 'u3', 'u4'].map((sub) => hs({ sub, exp: T0 + 600 })))
    for (const t of tokens.slice(0, 3)) await verifier.verify(t)
    expect(verifier.cached(tokens[0]!)?.sub).toBe('u0') // u0 is now the most recent, u1 the oldest
    await verifier.verify(tokens[3]!)
    await verifier.verify(tokens[4]!)
    expect(tokens.map((t) => verifier.cached(t)?.sub)).toEqual(['u0', undefined, undefined, 'u3', 'u4'])
  })

  it('bounds the raw cache too and skips entries already expired', () => {
    const cache = createTokenCache<number>({ maxEntries: 100, now: () => 0 })
    for (let i = 0; i < 250; i++) cache.set(`k${i}`, i, 1_000)
    cache.set('old', 1, 0)
    expect(cache.size).toBe(100)
    expect([cache.get('k149'), cache.get('k150'), cache.get('k249'), cache.get('old')]).toEqual([
      undefined,
      150,
      249,
      undefined,
    ])
  })
})

describe('token verifier: JWKS', () => {
  let verifier: TokenVerifier
  beforeAll(() => {
    verifier = createTokenVerifier({
      jwksUrl: `${base}/jwks.json`,
      jwtSecret: SECRET,
      issuer: ISSUER,
      audience: AUDIENCE,
    })
  })

  it('accepts RS256 and ES256 tokens from the key set', async () => {
    expect((await verifier.verify(await rsToken())).sub).toBe('user_1')
    const es = await sign(es1.privateKey, { alg: 'ES256', kid: 'es1', iss: ISSUER, aud: AUDIENCE, sub: 'user_es' })
    expect((await verifier.verify(es)).sub).toBe('user_es')
  })

  it('refuses an HS256 token, even signed with the configured secret, and alg none', async () => {
    await rejects(verifier, await hs({ iss: ISSUER, aud: AUDIENCE }), 'Token algorithm not allowed')
    const none = `${b64({ alg: 'none', kid: 'rs1' })}.${b64({ sub: 'user_1', iss: ISSUER, aud: AUDIENCE })}.`
    await rejects(verifier, none, 'Token algorithm not allowed')
  })

  it('refuses a bad signature, a wrong issuer or audience, and a missing sub', async () => {
    await rejects(
      verifier,
      await sign(rs2.privateKey, { kid: 'rs1', iss: ISSUER, aud: AUDIENCE }),
      'Invalid token signature',
    )
    await rejects(verifier, await rsToken({ iss: 'https://evil.example.com' }), 'Token issuer not accepted')
    await rejects(verifier, await rsToken({ aud: 'someone-else' }), 'Token audience not accepted')
    await rejects(verifier, await sign(rs1.privateKey, { kid: 'rs1', iss: ISSUER }), 'Token audience not accepted')
    await rejects(verifier, await rsToken({ sub: null }), 'Token has no subject')
  })

  it('tries every matching key for a token without kid', async () => {
    const extra = await jwk(rs2, 'rs2', 'RS256')
    const v = createTokenVerifier({ jwksUrl: `${base}/jwks.json` })
    served = [...served, extra]
    try {
      expect((await v.verify(await sign(rs2.privateKey, { sub: 'no_kid' }))).sub).toBe('no_kid')
      const foreign = await generateKeyPair('RS256')
      await rejects(v, await sign(foreign.privateKey, {}), 'Invalid token signature')
    } finally {
      served = served.filter((k) => k !== extra)
    }
  })

  it('refetches the key set on an unknown kid after the cooldown', async () => {
    const v = createTokenVerifier({ jwksUrl: `${base}/jwks.json` }, { jwksCooldownMs: 0 })
    const start = fetches
    expect((await v.verify(await sign(rs1.privateKey, { kid: 'rs1' }))).sub).toBe('user_1')
    expect(fetches).toBe(start + 1)
    const before = served
    served = [await jwk(rs2, 'rs2', 'RS256')] // the provider rotates: rs1 is gone, rs2 is new
    try {
      expect((await v.verify(await sign(rs2.privateKey, { kid: 'rs2', sub: 'rotated' }))).sub).toBe('rotated')
      expect(fetches).toBe(start + 2)
      await rejects(v, await sign(rs1.privateKey, { kid: 'rs1', sub: 'old' }), 'Unknown token signing key')
    } finally {
      served = before
    }
  })

  it('does not refetch on an unknown kid within the cooldown', async () => {
    const v = createTokenVerifier({ jwksUrl: `${base}/jwks.json` }, { jwksCooldownMs: 60_000 })
    await v.verify(await sign(rs1.privateKey, { kid: 'rs1' }))
    const start = fetches
    await rejects(v, await sign(rs2.privateKey, { kid: 'rs9' }), 'Unknown token signing key')
    expect(fetches).toBe(start)
  })

  it('answers 503, not 401, when the key set cannot be fetched', async () => {
    const broken = createTokenVerifier({ jwksUrl: `${base}/missing` })
    await rejects(broken, await rsToken(), 'Token signing keys are unavailable', 503)
    const slow = createTokenVerifier({ jwksUrl: `${base}/slow` }, { fetchTimeoutMs: 100 })
    await rejects(slow, await rsToken(), 'Token signing keys are unavailable', 503)
  })

  it('refuses a JWKS URL that is not a URL at creation', () => {
    expect(() => createTokenVerifier({ jwksUrl: 'not a url' })).toThrow('AUTH_JWKS_URL')
  })
})

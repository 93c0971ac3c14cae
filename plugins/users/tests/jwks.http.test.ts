/** JWT sessions through a local JWKS server (RS256) as Supabase, Clerk and a custom OAuth server issue them. */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { SignJWT, exportJWK, generateKeyPair, type JWTPayload } from 'jose'
import { testApp, type TestApp } from '../../../core/testing/index.ts'
import users from '../index.ts'

/**
 * Sessions as Supabase, Clerk and a custom OAuth server issue them: RS256 tokens checked against a
 * local JWKS server, each provider with its own issuer, audience and claim layout.
 */
let server: ReturnType<typeof Bun.serve>
let key: CryptoKeyPair
const apps: TestApp[] = []

beforeAll(async () => {
  key = await generateKeyPair('RS256')
  const jwks = { keys: [{ ...(await exportJWK(key.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }] }
  server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => Response.json(jwks) })
})
afterAll(async () => {
  for (const a of apps) await a.close()
  server?.stop(true)
})

const appFor = async (env: Record<string, string>) => {
  const t = await testApp({
    plugins: [users],
    env: { AUTH_JWKS_URL: `http://127.0.0.1:${server.port}/jwks.json`, ...env },
  })
  apps.push(t)
  return t
}

const sign = (claims: JWTPayload, kid = 'k1') =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(key.privateKey)

const me = (t: TestApp, token: string, version = 'v1') =>
  t.get(`/api/${version}/app/users/me`, { headers: { authorization: `Bearer ${token}` } })

describe('Supabase sessions', () => {
  const iss = 'https://abcdefgh.supabase.co/auth/v1'
  const supabase = (sub: string, extra: JWTPayload = {}) =>
    sign({
      iss,
      aud: 'authenticated',
      sub,
      email: 'sam@example.com',
      phone: '',
      role: 'authenticated',
      aal: 'aal1',
      session_id: crypto.randomUUID(),
      app_metadata: { provider: 'email', providers: ['email'] },
      user_metadata: { full_name: 'Sam Supa' },
      is_anonymous: false,
      ...extra,
    })

  it('provisions the user from the claims; the role claim is not a database role', async () => {
    const t = await appFor({ AUTH_JWT_ISSUER: iss, AUTH_JWT_AUDIENCE: 'authenticated' })
    const sub = crypto.randomUUID()
    const res = await me(t, await supabase(sub, { role: 'superadmin' }))
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ id: sub, email: 'sam@example.com', role: 'user', is_active: true })
    const v2 = await me(t, await supabase(sub), 'v2')
    expect(v2.body.data).toMatchObject({ id: sub, is_premium: false, days_since_joined: 0 })
  })

  it("refuses another project's issuer and another audience", async () => {
    const t = await appFor({ AUTH_JWT_ISSUER: iss, AUTH_JWT_AUDIENCE: 'authenticated' })
    expect(
      (await me(t, await supabase(crypto.randomUUID(), { iss: 'https://other.supabase.co/auth/v1' }))).status,
    ).toBe(401)
    expect((await me(t, await supabase(crypto.randomUUID(), { aud: 'anon' }))).status).toBe(401)
  })
})

describe('Clerk sessions', () => {
  const iss = 'https://clerk.example.dev'
  const clerk = (sub: string) =>
    sign({ iss, sub, azp: 'http://localhost:3000', sid: 'sess_2abc', v: 2, nbf: Math.floor(Date.now() / 1000) - 5 })

  it('works without an email claim and can create an API key', async () => {
    const t = await appFor({ AUTH_JWT_ISSUER: iss })
    const token = await clerk('user_2NNEqL2nrIRdJ194ndJqAHwEfxC')
    const res = await me(t, token)
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ id: 'user_2NNEqL2nrIRdJ194ndJqAHwEfxC', email: null, role: 'user' })
    const created = await t.post(
      '/api/v1/app/api-keys',
      { name: 'from clerk', scopes: ['users:read'] },
      { headers: { authorization: `Bearer ${token}` } },
    )
    expect(created.status).toBe(201)
    expect((await me(t, created.body.key)).body.id).toBe('user_2NNEqL2nrIRdJ194ndJqAHwEfxC')
  })

  it('refuses an unknown kid and an HS256 token', async () => {
    const t = await appFor({ AUTH_JWT_ISSUER: iss })
    expect((await me(t, await sign({ iss, sub: 'user_x' }, 'other-kid'))).status).toBe(401)
    const hs = await new SignJWT({ iss })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('user_x')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode('a'.repeat(32)))
    expect((await me(t, hs)).status).toBe(401)
  })
})

describe('custom OAuth sessions', () => {
  const iss = 'https://tenant.auth.example.com/'

  it('accepts an audience list and maps name and picture', async () => {
    const t = await appFor({ AUTH_JWT_ISSUER: iss, AUTH_JWT_AUDIENCE: 'omnistack-api' })
    const token = await sign({
      iss,
      sub: 'oauth2|1234567890',
      aud: ['omnistack-api', 'https://tenant.auth.example.com/userinfo'],
      email: 'olive@example.com',
      name: 'Olive OAuth',
      picture: 'https://cdn.example.com/olive.png',
      scope: 'openid profile email',
    })
    const res = await me(t, token)
    expect(res.body).toMatchObject({
      id: 'oauth2|1234567890',
      full_name: 'Olive OAuth',
      avatar_url: 'https://cdn.example.com/olive.png',
    })
  })

  it('refuses a delegated token (act claim) the server did not issue, even for a known user', async () => {
    const t = await appFor({ AUTH_JWT_ISSUER: iss })
    const plain = await sign({ iss, sub: 'oauth2|victim' })
    expect((await me(t, plain)).status).toBe(200)
    const delegated = await sign({ iss, sub: 'oauth2|victim', act: { sub: 'oauth2|someone' } })
    for (let i = 0; i < 2; i++) {
      const res = await me(t, delegated)
      expect(res.status).toBe(401)
      expect(res.body.error.code).toBe('AUTHENTICATION_ERROR')
    }
  })
})

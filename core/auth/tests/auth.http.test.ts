import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { SignJWT, exportJWK, generateKeyPair } from 'jose'
import type { Principal } from '../principal.ts'
import { signTestToken, testApp, type TestApp } from '../../testing/index.ts'
import { createEchoPlugin } from '../../testing/fixtures/echo-plugin.ts'
import { definePlugin } from '../../plugin/index.ts'
import { unauthenticated } from '../../errors/index.ts'

/** A bearer format added through the credential hook, as the users plugin adds API keys. */
const keyPlugin = definePlugin({
  name: 'test-keys',
  setup: ({ auth }) => {
    auth.addResolver({
      matches: (token) => token.startsWith('tk_'),
      resolve: async (token): Promise<Principal> => {
        const user = await auth.users.get(token.slice(3))
        if (!user) throw unauthenticated('Invalid API key')
        return { user, kind: 'api_key', scopes: new Set(['projects:read', 'files:*']) }
      },
    })
    return {}
  },
})

describe('auth with HS256', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await testApp({
      plugins: [createEchoPlugin().plugin, keyPlugin],
      env: { ADMIN_EMAILS: 'Boss@Example.com', SUPERADMIN_EMAILS: 'root@example.com' },
    })
  })
  afterAll(() => t?.close())

  it('refuses a missing or malformed bearer with 401', async () => {
    const none = await t.get('/api/v1/app/echo/me')
    expect(none.status).toBe(401)
    expect(none.body.error.code).toBe('AUTHENTICATION_ERROR')
    expect(none.headers.get('www-authenticate')).toBe('Bearer')
    const basic = await t.get('/api/v1/app/echo/me', { headers: { authorization: 'Basic abc' } })
    expect(basic.status).toBe(401)
    const garbage = await t.get('/api/v1/app/echo/me', { headers: { authorization: 'Bearer not.a.jwt' } })
    expect(garbage.status).toBe(401)
  })

  it('refuses a token signed with another secret, expired, or without sub', async () => {
    const other = await signTestToken('alice', 'another-secret-another-secret-xx')
    expect((await t.get('/api/v1/app/echo/me', { headers: { authorization: `Bearer ${other}` } })).status).toBe(401)
    const expired = await signTestToken('alice', undefined, Math.floor(Date.now() / 1000) - 120)
    const res = await t.get('/api/v1/app/echo/me', { headers: { authorization: `Bearer ${expired}` } })
    expect(res.status).toBe(401)
    expect(res.body.error.message).toMatch(/expired/i)
    const noSub = await new SignJWT({ email: 'x@example.com' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('omnistack-test-secret-0123456789abcdef'))
    expect((await t.get('/api/v1/app/echo/me', { headers: { authorization: `Bearer ${noSub}` } })).status).toBe(401)
  })

  it('refuses a never-expiring token and one issued a year ahead (AUTH_REQUIRE_EXP, AUTH_CLOCK_SKEW_SECONDS)', async () => {
    const key = new TextEncoder().encode('omnistack-test-secret-0123456789abcdef')
    const noExp = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').sign(key)
    const res = await t.get('/api/v1/app/echo/me', { headers: { authorization: `Bearer ${noExp}` } })
    expect(res.status).toBe(401)
    expect(res.body.error).toMatchObject({ code: 'AUTHENTICATION_ERROR', message: 'Token has no expiry' })
    const future = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('alice')
      .setIssuedAt(Math.floor(Date.now() / 1000) + 365 * 86400)
      .setExpirationTime(Math.floor(Date.now() / 1000) + 366 * 86400)
      .sign(key)
    const ahead = await t.get('/api/v1/app/echo/me', { headers: { authorization: `Bearer ${future}` } })
    expect(ahead.status).toBe(401)
    expect(ahead.body.error.message).toBe('Token issued in the future')
  })

  it('provisions a user on the first request with the role of the email lists', async () => {
    const me = await t.as({ sub: 'u-plain', email: 'plain@example.com', name: 'Plain' }).get('/api/v1/app/echo/me')
    expect(me.body).toEqual({ id: 'u-plain', role: 'user', kind: 'jwt' })
    const boss = await t.as({ sub: 'u-boss', email: 'boss@example.com' }).get('/api/v1/app/echo/me')
    expect(boss.body.role).toBe('admin')
    const root = await t.as({ sub: 'u-root', email: 'root@example.com' }).get('/api/v1/app/echo/me')
    expect(root.body.role).toBe('superadmin')
    const [row] = await t.app.db.sql`select email, full_name, role from users where id = 'u-plain'`
    expect(row).toEqual({ email: 'plain@example.com', full_name: 'Plain', role: 'user' })
  })

  it('reads a Supabase profile from user_metadata at provisioning', async () => {
    await t
      .as({
        sub: 'u-supa',
        email: 'supa@example.com',
        user_metadata: { full_name: 'Supa Base', avatar_url: 'https://example.com/a.png' },
      })
      .get('/api/v1/app/echo/me')
    const [row] = await t.app.db.sql`select full_name, avatar_url from users where id = 'u-supa'`
    expect(row).toEqual({ full_name: 'Supa Base', avatar_url: 'https://example.com/a.png' })
  })

  it('keeps the database role authoritative over later token claims', async () => {
    await t.as({ sub: 'u-promo', email: 'promo@example.com' }).get('/api/v1/app/echo/me')
    await t.app.db.sql`update users set role = 'agent' where id = 'u-promo'`
    t.app.events.publish('user.changed', { id: 'u-promo' })
    await new Promise((r) => setTimeout(r, 20))
    const res = await t.as({ sub: 'u-promo', email: 'boss@example.com', role: 'superadmin' }).get('/api/v1/app/echo/me')
    expect(res.body.role).toBe('agent')
  })

  it('keeps /admin for admins', async () => {
    expect((await t.as('u-plain').get('/api/v1/admin/echo/ping')).status).toBe(403)
    const ok = await t.as({ sub: 'u-boss', email: 'boss@example.com' }).get('/api/v1/admin/echo/ping')
    expect(ok.status).toBe(200)
    expect(ok.body).toEqual({ admin: 'u-boss' })
  })

  it('refuses a deactivated user everywhere but public routes', async () => {
    await t.as('u-gone').get('/api/v1/app/echo/me')
    await t.app.db.sql`update users set is_active = false where id = 'u-gone'`
    t.app.events.publish('user.changed', { id: 'u-gone' })
    await new Promise((r) => setTimeout(r, 20))
    const res = await t.as('u-gone').get('/api/v1/app/echo/me')
    expect(res.status).toBe(403)
    expect(res.body.error.code).toBe('AUTHORIZATION_ERROR')
    expect((await t.as('u-gone').get('/api/v1/public/echo/ping')).status).toBe(200)
  })

  it('checks API-key scopes with the details of docs/auth.md', async () => {
    await t.as('u-keyed').get('/api/v1/app/echo/me')
    const auth = { headers: { authorization: 'Bearer tk_u-keyed' } }
    const me = await t.get('/api/v1/app/echo/me', auth)
    expect(me.body.kind).toBe('api_key')
    const res = await t.get('/api/v1/app/echo/scoped', auth)
    expect(res.status).toBe(403)
    expect(res.body.error.details).toEqual({ required: 'echo:read', granted: ['projects:read', 'files:*'] })
    // A session has every scope of its role.
    expect((await t.as('u-keyed').get('/api/v1/app/echo/scoped')).status).toBe(200)
    expect((await t.get('/api/v1/app/echo/me', { headers: { authorization: 'Bearer tk_nobody' } })).status).toBe(401)
  })
})

describe('auth with JWKS', () => {
  let t: TestApp
  let server: ReturnType<typeof Bun.serve>
  const keys: { rs: CryptoKeyPair; es: CryptoKeyPair } = {} as never

  beforeAll(async () => {
    keys.rs = await generateKeyPair('RS256')
    keys.es = await generateKeyPair('ES256')
    const jwks = {
      keys: [
        { ...(await exportJWK(keys.rs.publicKey)), kid: 'rs1', alg: 'RS256', use: 'sig' },
        { ...(await exportJWK(keys.es.publicKey)), kid: 'es1', alg: 'ES256', use: 'sig' },
      ],
    }
    server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => Response.json(jwks) })
    t = await testApp({
      plugins: [createEchoPlugin().plugin],
      env: {
        AUTH_JWKS_URL: `http://127.0.0.1:${server.port}/.well-known/jwks.json`,
        AUTH_JWT_ISSUER: 'https://issuer.example.com',
        AUTH_JWT_AUDIENCE: 'omnistack',
      },
    })
  })
  afterAll(async () => {
    await t?.close()
    server?.stop(true)
  })

  const sign = (alg: 'RS256' | 'ES256', key: CryptoKey, kid: string, claims: Record<string, unknown> = {}) =>
    new SignJWT({ email: 'jw@example.com', ...claims })
      .setProtectedHeader({ alg, kid })
      .setSubject('user_jwks')
      .setIssuer('https://issuer.example.com')
      .setAudience('omnistack')
      .setExpirationTime('10m')
      .sign(key)

  it('accepts RS256 and ES256 tokens from the key set', async () => {
    for (const [alg, key, kid] of [
      ['RS256', keys.rs.privateKey, 'rs1'],
      ['ES256', keys.es.privateKey, 'es1'],
    ] as const) {
      const res = await t.get('/api/v1/app/echo/me', {
        headers: { authorization: `Bearer ${await sign(alg, key, kid)}` },
      })
      expect(res.status).toBe(200)
      expect(res.body.id).toBe('user_jwks')
    }
  })

  it('refuses an HS256 token while JWKS is configured', async () => {
    const hs = await signTestToken('user_jwks')
    expect((await t.get('/api/v1/app/echo/me', { headers: { authorization: `Bearer ${hs}` } })).status).toBe(401)
  })

  it('refuses alg none and a wrong audience', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')
    const payload = Buffer.from(
      JSON.stringify({ sub: 'user_jwks', exp: Math.floor(Date.now() / 1000) + 600 }),
    ).toString('base64url')
    expect(
      (await t.get('/api/v1/app/echo/me', { headers: { authorization: `Bearer ${header}.${payload}.` } })).status,
    ).toBe(401)
    const wrongAud = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: 'rs1' })
      .setSubject('user_jwks')
      .setIssuer('https://issuer.example.com')
      .setAudience('someone-else')
      .setExpirationTime('10m')
      .sign(keys.rs.privateKey)
    expect((await t.get('/api/v1/app/echo/me', { headers: { authorization: `Bearer ${wrongAud}` } })).status).toBe(401)
  })
})

/** Impersonation: start rules, acting as the user, audit of every request, stop, and a second replica on the same database. */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { decodeJwt, decodeProtectedHeader } from 'jose'
import { createApp, type App } from '../../../core/index.ts'
import { openDatabase, type Database } from '../../../core/db/index.ts'
import { clientFor, TEST_JWT_SECRET, type TestApp } from '../../../core/testing/index.ts'
import type { TestDatabase } from '../../../core/testing/database.ts'
import users from '../../users/index.ts'
import admin from '../index.ts'
import { adminApp, adminRoutes, BOSS, fixture, ROOT } from './support.ts'

let t: TestApp
beforeAll(async () => {
  t = await adminApp()
  for (const sub of ['u-target', 'u-t2', 'u-t3', 'u-t4', 'u-t5', 'u-t6'])
    await t.as({ sub, email: `${sub}@example.com`, name: `Name ${sub}` }).get('/api/v1/app/users/me')
})
afterAll(() => t?.close())

const start = (user_id: string, reason = 'Support ticket #123', as = BOSS) =>
  t
    .as(as)
    .post(
      '/api/v1/admin/impersonate/start',
      { user_id, reason },
      { headers: { 'x-request-id': `req-start-${user_id}` } },
    )
const withToken = (token: string) => ({ headers: { authorization: `Bearer ${token}` } })

describe('starting', () => {
  it('returns the seed shape: a server-signed 1-hour JWT with act, audited first', async () => {
    const res = await start('u-target')
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({
      message: 'Impersonation started',
      impersonated_user: { id: 'u-target', email: 'u-target@example.com', full_name: 'Name u-target' },
    })
    const claims = decodeJwt(res.body.token)
    expect(claims).toMatchObject({ sub: 'u-target', act: { sub: 'u-boss' } })
    expect(decodeProtectedHeader(res.body.token)).toMatchObject({ alg: 'HS256', kid: 'omnistack-impersonation' })
    const ttl = claims.exp! - Math.floor(Date.now() / 1000)
    expect(ttl).toBeGreaterThan(3590)
    expect(ttl).toBeLessThanOrEqual(3600)
    expect(new Date(res.body.expires_at).getTime()).toBe(claims.exp! * 1000)
    const [entry] = await t.app.db
      .sql`select * from audit_logs where action = 'impersonate.start' and request_id = 'req-start-u-target'`
    expect(entry).toMatchObject({
      actor_id: 'u-boss',
      resource_type: 'user',
      resource_id: 'u-target',
      ip_address: '127.0.0.1',
    })
    expect(entry!.details).toMatchObject({ reason: 'Support ticket #123', impersonation_id: claims.jti })
  })

  it('needs only user_id: the reason is optional, recorded in the audit entry when given', async () => {
    for (const [body, id] of [
      [{ user_id: 'u-t2' }, 'bare'],
      [{ user_id: 'u-t2', reason: '   ' }, 'blank'],
    ] as const) {
      const res = await t
        .as(BOSS)
        .post('/api/v1/admin/impersonate/start', body, { headers: { 'x-request-id': `req-reason-${id}` } })
      expect(res.status).toBe(200)
      expect(res.body.impersonated_user.id).toBe('u-t2')
      const [entry] = await t.app.db
        .sql`select details from audit_logs where action = 'impersonate.start' and request_id = ${`req-reason-${id}`}`
      expect(entry!.details.impersonation_id).toBe(decodeJwt(res.body.token).jti)
      expect('reason' in entry!.details).toBe(false)
      const [session] = await t.app.db
        .sql`select reason from impersonation_sessions where id = ${decodeJwt(res.body.token).jti!}`
      expect(session!.reason).toBeNull()
    }
    const given = await start('u-t2', '  Ticket 42  ')
    const [session] = await t.app.db
      .sql`select reason from impersonation_sessions where id = ${decodeJwt(given.body.token).jti!}`
    expect(session!.reason).toBe('Ticket 42')
    const long = await t.as(BOSS).post('/api/v1/admin/impersonate/start', { user_id: 'u-t2', reason: 'x'.repeat(501) })
    expect(long.status).toBe(422)
    expect(long.body.error.details.field).toBe('reason')
  })

  it('refuses admins, superadmins, yourself, unknown and deactivated users', async () => {
    await t.as('u-other-admin').get('/api/v1/app/users/me')
    await t.as(ROOT).patch('/api/v1/admin/users/u-other-admin', { role: 'admin' })
    expect((await start('u-other-admin')).status).toBe(403)
    expect((await start('u-root')).status).toBe(403)
    expect((await start('u-boss')).status).toBe(403)
    expect((await start('u-boss', 'x', ROOT)).status).toBe(403)
    expect((await start('nobody')).status).toBe(404)
    await t.as(BOSS).post('/api/v1/admin/users/u-t6/deactivate')
    expect((await start('u-t6')).status).toBe(409)
    const [row] = await t.app.db
      .sql`select count(*)::int as n from impersonation_sessions where target_id in ('u-other-admin', 'u-root', 'u-boss', 'u-t6')`
    expect(row!.n).toBe(0)
  })
})

describe('acting as the user', () => {
  it('works on /app with X-Impersonated-By, and audits every request', async () => {
    const { token } = (await start('u-t2')).body
    const me = await t.get('/api/v1/app/users/me', withToken(token))
    expect(me.status).toBe(200)
    expect(me.body.id).toBe('u-t2')
    expect(me.headers.get('x-impersonated-by')).toBe('u-boss')
    const v2 = await t.patch(
      '/api/v2/app/users/me',
      { full_name: 'Changed by support' },
      { ...withToken(token), ip: '192.0.2.44' },
    )
    expect(v2.body.data.full_name).toBe('Changed by support')
    expect(v2.headers.get('x-impersonated-by')).toBe('u-boss')
    const missing = await t.get('/api/v1/app/nothing-here', withToken(token))
    expect(missing.status).toBe(404)
    expect(missing.headers.get('x-impersonated-by')).toBe('u-boss')
    await t.app.audit.flush()
    const log = await t.app.db.sql`
      select actor_id, resource_id, details, ip_address, request_id from audit_logs
      where action = 'impersonate.request' and resource_id = 'u-t2' order by created_at`
    // Written after each response, so in completion order: compare as a set.
    expect(log.map((e) => [e.details.method, e.details.path, e.details.status]).sort()).toEqual([
      ['GET', '/api/v1/app/nothing-here', 404],
      ['GET', '/api/v1/app/users/me', 200],
      ['PATCH', '/api/v2/app/users/me', 200],
    ])
    expect(log.find((e) => e.details.method === 'PATCH')).toMatchObject({
      actor_id: 'u-boss',
      ip_address: '192.0.2.44',
    })
    expect(log.every((e) => e.request_id && e.details.impersonation_id === decodeJwt(token).jti)).toBe(true)
  })

  it('cannot create API keys', async () => {
    const { token } = (await start('u-t3')).body
    const res = await t.post('/api/v1/app/api-keys', { name: 'persist', scopes: ['users:read'] }, withToken(token))
    expect(res.status).toBe(403)
  })

  it('is refused on every /admin route but stop, including starting another impersonation', async () => {
    const { token } = (await start('u-t3')).body
    const problems: string[] = []
    for (const r of [...adminRoutes(t, 'v1', 'u-t3'), ...adminRoutes(t, 'v2', 'u-t3')]) {
      if (r.path.endsWith('/impersonate/stop')) continue
      const res = await t.request(r.method, r.path, {
        ...withToken(token),
        body: r.method === 'GET' ? undefined : { user_id: 'u-t4', reason: 'nested', role: 'admin' },
      })
      if (res.status !== 403 || res.headers.get('x-impersonated-by') !== 'u-boss')
        problems.push(`${r.method} ${r.path} -> ${res.status}`)
    }
    expect(problems).toEqual([])
    const [row] = await t.app.db.sql`select count(*)::int as n from impersonation_sessions where target_id = 'u-t4'`
    expect(row!.n).toBe(0)
  })
})

describe('stopping', () => {
  it('revokes the token at once, audited; other bearers get 400', async () => {
    const { token } = (await start('u-t4')).body
    expect((await t.get('/api/v1/app/users/me', withToken(token))).status).toBe(200)
    const ended: string[] = []
    const off = t.app.events.subscribe('impersonation.ended', ({ id }) => void ended.push(id))
    const stop = await t.post('/api/v1/admin/impersonate/stop', undefined, withToken(token))
    expect(stop.status).toBe(200)
    await new Promise((r) => setTimeout(r, 20))
    off()
    // Sockets opened with the token close on every replica (the websocket plugin listens).
    expect(ended).toEqual([decodeJwt(token).jti as string])
    expect(stop.body).toMatchObject({ message: 'Impersonation stopped', impersonated_user: { id: 'u-t4' } })
    expect(stop.headers.get('x-impersonated-by')).toBe('u-boss')
    const after = await t.get('/api/v1/app/users/me', withToken(token))
    expect(after.status).toBe(401)
    expect((await t.post('/api/v1/admin/impersonate/stop', undefined, withToken(token))).status).toBe(401)
    const [entry] = await t.app.db
      .sql`select * from audit_logs where action = 'impersonate.stop' and resource_id = 'u-t4'`
    expect(entry).toMatchObject({
      actor_id: 'u-boss',
      details: { impersonation_id: decodeJwt(token).jti, on_behalf_of: 'u-t4' },
    })
    expect((await t.as(BOSS).post('/api/v1/admin/impersonate/stop')).status).toBe(400)
  })

  it('ends when the session expires, the target is deactivated or the admin loses the role', async () => {
    const expiring = (await start('u-t5')).body.token
    await t.app.db
      .sql`update impersonation_sessions set expires_at = now() - interval '1 second' where id = ${decodeJwt(expiring).jti!}`
    expect((await t.get('/api/v1/app/users/me', withToken(expiring))).status).toBe(401)

    const deactivated = (await start('u-t5')).body.token
    await t.as(BOSS).post('/api/v1/admin/users/u-t5/deactivate')
    expect((await t.get('/api/v1/app/users/me', withToken(deactivated))).status).toBe(403)
    await t.as(BOSS).post('/api/v1/admin/users/u-t5/activate')

    await t.as('u-temp-admin').get('/api/v1/app/users/me')
    await t.as(ROOT).patch('/api/v1/admin/users/u-temp-admin', { role: 'admin' })
    const demoted = (await start('u-t5', 'check', { sub: 'u-temp-admin' } as never)).body.token
    expect((await t.get('/api/v1/app/users/me', withToken(demoted))).status).toBe(200)
    await t.as(ROOT).patch('/api/v1/admin/users/u-temp-admin', { role: 'user' })
    expect((await t.get('/api/v1/app/users/me', withToken(demoted))).status).toBe(401)
  })

  it('refuses a forged or tampered token', async () => {
    const { token } = (await start('u-t5')).body
    const [h, p, s] = token.split('.')
    const forgedPayload = Buffer.from(JSON.stringify({ ...decodeJwt(token), sub: 'u-t2' })).toString('base64url')
    expect((await t.get('/api/v1/app/users/me', withToken(`${h}.${forgedPayload}.${s}`))).status).toBe(401)
    expect((await t.get('/api/v1/app/users/me', withToken(`${h}.${p}.${s!.slice(0, -2)}xx`))).status).toBe(401)
  })
})

describe('IMPERSONATION_REQUIRE_REASON=true', () => {
  let strict: TestApp
  beforeAll(async () => {
    strict = await adminApp({ env: { IMPERSONATION_REQUIRE_REASON: 'true' } })
    await strict.as('u-target').get('/api/v1/app/users/me')
  })
  afterAll(() => strict?.close())

  it('requires a non-blank reason (422, field reason) and records it', async () => {
    for (const body of [
      { user_id: 'u-target' },
      { user_id: 'u-target', reason: '' },
      { user_id: 'u-target', reason: '   ' },
    ]) {
      const res = await strict.as(BOSS).post('/api/v1/admin/impersonate/start', body)
      expect(res.status).toBe(422)
      expect(res.body.error.code).toBe('VALIDATION_ERROR')
      expect(res.body.error.details.field).toBe('reason')
    }
    const [none] = await strict.app.db.sql`select count(*)::int as n from impersonation_sessions`
    expect(none!.n).toBe(0)
    const ok = await strict
      .as(BOSS)
      .post(
        '/api/v1/admin/impersonate/start',
        { user_id: 'u-target', reason: 'Ticket 7' },
        { headers: { 'x-request-id': 'req-strict' } },
      )
    expect(ok.status).toBe(200)
    const [entry] = await strict.app.db
      .sql`select details from audit_logs where action = 'impersonate.start' and request_id = 'req-strict'`
    expect(entry!.details.reason).toBe('Ticket 7')
  })
})

describe('two replicas sharing the database', () => {
  let second: App
  let db2: Database
  beforeAll(async () => {
    const url = (t.app.db as TestDatabase).url
    // A real PostgreSQL gets a second pool; embedded PGlite is shared through its one client.
    db2 = url ? await openDatabase({ url, max: 2 }) : t.app.db
    second = await createApp({
      plugins: [users, admin, fixture],
      database: db2,
      workers: false,
      env: {
        AUTH_JWT_SECRET: TEST_JWT_SECRET,
        LOG_LEVEL: 'error',
        SUPERADMIN_EMAILS: ROOT.email,
        ADMIN_EMAILS: BOSS.email,
      },
    })
  })
  afterAll(async () => {
    await second?.stop()
    if (db2 && db2 !== t.app.db) await db2.close()
  })

  it('honours a token from the other replica and its stop at once', async () => {
    const b = clientFor(second)
    const { token } = (await start('u-t3')).body
    const onB = await b.get('/api/v1/app/users/me', withToken(token))
    expect(onB.status).toBe(200)
    expect(onB.headers.get('x-impersonated-by')).toBe('u-boss')
    expect((await t.post('/api/v1/admin/impersonate/stop', undefined, withToken(token))).status).toBe(200)
    expect((await b.get('/api/v1/app/users/me', withToken(token))).status).toBe(401)

    const other = (await start('u-t3')).body.token
    expect((await t.get('/api/v1/app/users/me', withToken(other))).status).toBe(200)
    expect((await b.post('/api/v1/admin/impersonate/stop', undefined, withToken(other))).status).toBe(200)
    expect((await t.get('/api/v1/app/users/me', withToken(other))).status).toBe(401)
  })
})

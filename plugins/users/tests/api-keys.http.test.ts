/** API keys over HTTP: shown once, hashed at rest, scopes, revocation, deactivated owners, batched last_used_at. */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { createHash } from 'node:crypto'
import { definePlugin } from '../../../core/index.ts'
import { testApp, type TestApp } from '../../../core/testing/index.ts'
import users from '../index.ts'

/** Routes that declare scopes, as other plugins' routes do. */
const scoped = definePlugin({
  name: 'scoped-fixture',
  setup: () => ({
    routes: {
      app: ({ router }) =>
        router('/fixture')
          .get('/read', ({ principal }) => ({ kind: principal.kind, key: principal.credentialId ?? null }), {
            scope: 'projects:read',
          })
          .post('/write', () => ({ ok: true }), { scope: 'projects:write' })
          .get('/open', () => ({ ok: true })),
    },
  }),
})

let t: TestApp
const bearer = (key: string) => ({ headers: { authorization: `Bearer ${key}` } })
const service = () => t.app.service(users)

beforeAll(async () => {
  t = await testApp({ plugins: [users, scoped] })
})
afterAll(() => t?.close())

const createKey = async (user: string, scopes: string[], name = 'ci') => {
  const res = await t.as(user).post('/api/v1/app/api-keys', { name, scopes })
  expect(res.status).toBe(201)
  return res.body as { id: string; key: string; prefix: string; scopes: string[] }
}

describe('creating and listing keys', () => {
  it('shows the secret once and lists keys without it', async () => {
    const created = await createKey('u-ann', ['projects:read', 'files:*'], 'deploy bot')
    expect(created.key).toMatch(/^osk_[A-Za-z0-9]{40}$/)
    expect(created).toMatchObject({
      name: 'deploy bot',
      prefix: created.key.slice(0, 12),
      scopes: ['projects:read', 'files:*'],
      last_used_at: null,
    })
    const list = await t.as('u-ann').get('/api/v1/app/api-keys')
    expect(list.status).toBe(200)
    expect(list.body).toMatchObject({ total: 1, skip: 0, limit: 20 })
    expect(Object.keys(list.body.items[0]).sort()).toEqual([
      'created_at',
      'id',
      'last_used_at',
      'name',
      'prefix',
      'scopes',
    ])
    expect(list.text).not.toContain(created.key)
    const v2 = await t.as('u-ann').get('/api/v2/app/api-keys?limit=5')
    expect(v2.body.data[0].id).toBe(created.id)
    expect(v2.body.meta.pagination).toEqual({ total: 1, skip: 0, limit: 5 })
  })

  it('keeps only a hash at rest', async () => {
    const created = await createKey('u-ann', ['projects:read'])
    const rows = await t.app.db.sql`select * from api_keys where id = ${created.id}`
    expect(JSON.stringify(rows)).not.toContain(created.key)
    expect(JSON.stringify(rows)).not.toContain(created.key.slice(12))
    expect(rows[0]!.key_hash).toBe(createHash('sha256').update(created.key).digest('hex'))
  })

  it("lists nobody else's keys", async () => {
    await createKey('u-ann', ['projects:read'])
    const res = await t.as('u-ben').get('/api/v1/app/api-keys')
    expect(res.body).toMatchObject({ items: [], total: 0 })
  })

  it('validates name and scopes with 422 and details.field', async () => {
    const cases: [unknown, string][] = [
      [{ name: '', scopes: ['projects:read'] }, 'name'],
      [{ name: 'x'.repeat(101), scopes: ['projects:read'] }, 'name'],
      [{ scopes: ['projects:read'] }, 'name'],
      [{ name: 'k', scopes: [] }, 'scopes'],
      [{ name: 'k' }, 'scopes'],
      [{ name: 'k', scopes: ['Projects read'] }, 'scopes.0'],
      [{ name: 'k', scopes: ['admin:full'] }, 'scopes'],
    ]
    for (const [body, field] of cases) {
      const res = await t.as('u-ann').post('/api/v1/app/api-keys', body)
      expect(res.status).toBe(422)
      expect(res.body.error.details.field).toBe(field)
    }
  })

  it('audits creation with ip and request id', async () => {
    const res = await t.as('u-cat').post(
      '/api/v1/app/api-keys',
      { name: 'audited', scopes: ['files:read'] },
      {
        headers: { 'x-request-id': 'req-key-create' },
        ip: '203.0.113.9',
      },
    )
    const [entry] = await t.app.db
      .sql`select * from audit_logs where action = 'api_key.create' and resource_id = ${res.body.id}`
    expect(entry).toMatchObject({
      actor_id: 'u-cat',
      resource_type: 'api_key',
      ip_address: '203.0.113.9',
      request_id: 'req-key-create',
    })
    expect(entry!.details).toMatchObject({ name: 'audited', scopes: ['files:read'] })
    expect(JSON.stringify(entry)).not.toContain(res.body.key)
  })
})

describe('using keys', () => {
  it("authenticates as the owner with the key's scopes", async () => {
    const { key, id } = await createKey('u-dan', ['projects:read'])
    const res = await t.get('/api/v1/app/fixture/read', bearer(key))
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ kind: 'api_key', key: id })
    expect((await t.get('/api/v1/app/fixture/open', bearer(key))).status).toBe(200)
  })

  it('refuses a missing scope with 403, required and granted', async () => {
    const { key } = await createKey('u-dan', ['projects:read', 'files:*'])
    const res = await t.post('/api/v1/app/fixture/write', {}, bearer(key))
    expect(res.status).toBe(403)
    expect(res.body.error.code).toBe('AUTHORIZATION_ERROR')
    expect(res.body.error.details).toEqual({ required: 'projects:write', granted: ['projects:read', 'files:*'] })
    const me = await t.get('/api/v1/app/users/me', bearer(key))
    expect(me.status).toBe(403)
    expect(me.body.error.details.required).toBe('users:read')
  })

  it('grants a resource wildcard', async () => {
    const { key } = await createKey('u-dan', ['projects:*', 'users:read'])
    expect((await t.post('/api/v1/app/fixture/write', {}, bearer(key))).status).toBe(200)
    expect((await t.get('/api/v1/app/users/me', bearer(key))).body.id).toBe('u-dan')
  })

  it('refuses unknown, malformed and revoked keys with 401', async () => {
    expect((await t.get('/api/v1/app/fixture/open', bearer('osk_' + 'a'.repeat(40)))).status).toBe(401)
    expect((await t.get('/api/v1/app/fixture/open', bearer('osk_short'))).status).toBe(401)
    const { key, id } = await createKey('u-eve', ['projects:read'])
    expect((await t.get('/api/v1/app/fixture/read', bearer(key))).status).toBe(200)
    const del = await t.as('u-eve').delete(`/api/v1/app/api-keys/${id}`)
    expect(del.status).toBe(204)
    const after = await t.get('/api/v1/app/fixture/read', bearer(key))
    expect(after.status).toBe(401)
    expect(after.body.error.code).toBe('AUTHENTICATION_ERROR')
    const [entry] = await t.app.db
      .sql`select actor_id from audit_logs where action = 'api_key.revoke' and resource_id = ${id}`
    expect(entry).toEqual({ actor_id: 'u-eve' })
  })

  it("answers 404 for someone else's key, a revoked one, or a malformed id", async () => {
    const { key, id } = await createKey('u-fay', ['projects:read'])
    expect((await t.as('u-gus').delete(`/api/v1/app/api-keys/${id}`)).status).toBe(404)
    expect((await t.get('/api/v1/app/fixture/read', bearer(key))).status).toBe(200)
    expect((await t.as('u-fay').delete(`/api/v1/app/api-keys/${id}`)).status).toBe(204)
    expect((await t.as('u-fay').delete(`/api/v1/app/api-keys/${id}`)).status).toBe(404)
    expect((await t.as('u-fay').delete('/api/v1/app/api-keys/not-a-uuid')).status).toBe(404)
  })

  it('stops working when the owner is deactivated', async () => {
    const { key } = await createKey('u-hal', ['projects:read'])
    expect((await t.get('/api/v1/app/fixture/read', bearer(key))).status).toBe(200)
    await t.app.db.sql`update users set is_active = false where id = 'u-hal'`
    await service().changed('u-hal')
    await Bun.sleep(5)
    const res = await t.get('/api/v1/app/fixture/read', bearer(key))
    expect(res.status).toBe(403)
    expect(res.body.error.code).toBe('AUTHORIZATION_ERROR')
  })

  it('cannot manage keys with a key', async () => {
    const { key, id } = await createKey('u-ivy', ['projects:read'])
    expect((await t.post('/api/v1/app/api-keys', { name: 'k', scopes: ['projects:read'] }, bearer(key))).status).toBe(
      403,
    )
    expect((await t.get('/api/v1/app/api-keys', bearer(key))).status).toBe(403)
    expect((await t.delete(`/api/v1/app/api-keys/${id}`, bearer(key))).status).toBe(403)
  })
})

describe('last_used_at', () => {
  it('is batched: no write per request, shown at once, stored on flush', async () => {
    const { key, id } = await createKey('u-jo', ['projects:read'])
    for (let i = 0; i < 3; i++) await t.get('/api/v1/app/fixture/read', bearer(key))
    const [before] = await t.app.db.sql`select last_used_at from api_keys where id = ${id}`
    expect(before!.last_used_at).toBeNull()
    const list = await t.as('u-jo').get('/api/v1/app/api-keys')
    const listed = list.body.items.find((k: { id: string }) => k.id === id)
    expect(Date.now() - new Date(listed.last_used_at).getTime()).toBeLessThan(10_000)
    await service().apiKeys.flushUsage()
    const [after] = await t.app.db.sql`select last_used_at from api_keys where id = ${id}`
    expect(after!.last_used_at).toBeInstanceOf(Date)
    expect(new Date(listed.last_used_at).getTime()).toBe((after!.last_used_at as Date).getTime())
  })
})

describe('the secret at rest', () => {
  it('is kept nowhere, not even by Idempotency-Key, whose retry replays the key without it; v2 is enveloped with the usual headers', async () => {
    const headers = { 'idempotency-key': 'create-key-1', 'x-request-id': 'req-secret' }
    const first = await t
      .as('u-kim')
      .post('/api/v2/app/api-keys', { name: 'idem', scopes: ['projects:read'] }, { headers })
    expect(first.status).toBe(201)
    expect(first.body.data.key).toMatch(/^osk_[A-Za-z0-9]{40}$/)
    expect(first.body.meta).toMatchObject({ version: 'v2', request_id: 'req-secret' })
    expect(first.headers.get('x-request-id')).toBe('req-secret')
    expect(first.headers.get('x-ratelimit-limit')).not.toBeNull()
    expect(first.headers.get('x-api-version')).toBe('v2')
    await Bun.sleep(5)
    const stored = await t.app.db.sql`select * from idempotency_keys`
    expect(JSON.stringify(stored)).not.toContain(first.body.data.key)
    expect(stored).toHaveLength(1)
    expect(stored[0]!.status_code).toBe(201)
    const retry = await t
      .as('u-kim')
      .post('/api/v2/app/api-keys', { name: 'idem', scopes: ['projects:read'] }, { headers })
    expect(retry.status).toBe(201)
    expect(retry.headers.get('idempotent-replayed')).toBe('true')
    // The same key, its secret not shown again; nothing new was created.
    expect(retry.body.data).toEqual({ ...first.body.data, key: null })
    const mine = await t.app.db.sql`select count(*)::int as n from api_keys where name = 'idem'`
    expect(mine[0]!.n).toBe(1)
    // Another body with the same Idempotency-Key is a conflict, as for any route.
    const other = await t
      .as('u-kim')
      .post('/api/v2/app/api-keys', { name: 'other', scopes: ['projects:read'] }, { headers })
    expect(other.status).toBe(409)
    // Without a key, each call creates one.
    const plain = await t.as('u-kim').post('/api/v1/app/api-keys', { name: 'idem', scopes: ['projects:read'] })
    expect(plain.status).toBe(201)
    expect(plain.body.key).toMatch(/^osk_/)
  })
})

/**
 * Organization API keys over HTTP (docs/plugins/organizations-api-keys.md): who manages them,
 * the secret shown once, the key acting as the organization (its service user), isolation from
 * other organizations, audit, revocation and deletion at once, and users' own keys unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { createHash } from 'node:crypto'
import { definePlugin } from '../../../core/index.ts'
import { testApp, type TestApp } from '../../../core/testing/index.ts'
import email from '../../email/index.ts'
import users from '../../users/index.ts'
import organizations from '../index.ts'

/** A route of another plugin: who is calling, and an audited write made as the caller. */
const fixture = definePlugin({
  name: 'org-key-fixture',
  setup: (ctx) => ({
    routes: {
      app: ({ router }) =>
        router('/fixture')
          .get(
            '/whoami',
            ({ principal }) => ({
              user: principal.user.id,
              full_name: principal.user.full_name,
              kind: principal.kind,
              key: principal.credentialId ?? null,
              org: principal.org ?? null,
            }),
            { scope: 'projects:read' },
          )
          .post(
            '/write',
            async ({ principal, requestId, clientIp }) => {
              const a = ctx.audit.from({ principal, requestId, clientIp })
              const row = await ctx.audit.record({ ...a, action: 'fixture.write', resource_type: 'fixture' })
              return { audit_id: row.id }
            },
            { scope: 'projects:write' },
          ),
    },
  }),
})

let t: TestApp
let orgA: string
let orgB: string
const bearer = (key: string, headers: Record<string, string> = {}) => ({
  headers: { authorization: `Bearer ${key}`, ...headers },
})
const keysOf = (org: string) => `/api/v1/app/orgs/${org}/api-keys`

const newOrg = async (owner: string, name: string) => {
  const res = await t.as(owner).post('/api/v1/app/orgs', { name })
  expect(res.status).toBe(201)
  return res.body.id as string
}

/** Makes `user` a member of `org` in `role` (the invitation flow has its own tests). */
const join = async (org: string, user: string, role: string) => {
  expect((await t.as(user).get('/api/v1/app/users/me')).status).toBe(200)
  await t.app.db.sql`insert into org_memberships (org_id, user_id, role) values (${org}, ${user}, ${role})`
}

const createKey = async (
  org: string,
  body: { name: string; scopes: string[]; role?: string },
  as = 'u-own',
): Promise<{ id: string; key: string; role: string; prefix: string }> => {
  const res = await t.as(as).post(keysOf(org), body)
  expect(res.status).toBe(201)
  return res.body
}

beforeAll(async () => {
  t = await testApp({ plugins: [users, email, organizations, fixture] })
  orgA = await newOrg('u-own', 'Acme')
  orgB = await newOrg('u-other', 'Beta')
  await join(orgA, 'u-adm', 'admin')
  await join(orgA, 'u-mem', 'member')
  await join(orgA, 'u-bill', 'billing')
})
afterAll(() => t?.close())

describe('managing keys', () => {
  it('lets the owner create a key shown once, a member by default, and lists it without the secret', async () => {
    const res = await t.as('u-own').post(keysOf(orgA), { name: 'deploy', scopes: ['projects:read'] })
    expect(res.status).toBe(201)
    const created = res.body
    expect(created.key).toMatch(/^oso_[A-Za-z0-9]{40}$/)
    expect(created).toMatchObject({
      org_id: orgA,
      name: 'deploy',
      role: 'member',
      prefix: created.key.slice(0, 12),
      scopes: ['projects:read'],
      created_by: 'u-own',
      last_used_at: null,
    })
    const [row] = await t.app.db.sql<{ key_hash: string }[]>`select key_hash from org_api_keys where id = ${created.id}`
    expect(row!.key_hash).toBe(createHash('sha256').update(created.key).digest('hex'))

    const list = await t.as('u-adm').get(keysOf(orgA))
    expect(list.status).toBe(200)
    expect(list.body).toMatchObject({ skip: 0, limit: 20 })
    expect(list.body.items.map((k: { id: string }) => k.id)).toContain(created.id)
    expect(list.text).not.toContain(created.key)
    expect(list.body.items[0]).not.toHaveProperty('key')
    const v2 = await t.as('u-adm').get(`/api/v2/app/orgs/${orgA}/api-keys`)
    expect(v2.status).toBe(200)
    expect(v2.text).not.toContain(created.key)
    const v2Created = await t.as('u-adm').post(`/api/v2/app/orgs/${orgA}/api-keys`, { name: 'v2', scopes: ['x:read'] })
    expect(v2Created.status).toBe(201)
    expect(v2Created.body.data.key).toMatch(/^oso_[A-Za-z0-9]{40}$/)
  })

  it('keeps the secret nowhere, not even in the Idempotency-Key store, whose replay answers key: null', async () => {
    const headers = { 'idempotency-key': 'org-key-1' }
    const body = { name: 'idem', scopes: ['projects:read'] }
    const first = await t.as('u-own').post(keysOf(orgA), body, { headers })
    expect(first.status).toBe(201)
    await Bun.sleep(5)
    const stored = await t.app.db.sql`select response_body from idempotency_keys where key = 'org-key-1'`
    expect(stored).toHaveLength(1)
    expect(JSON.stringify(stored)).not.toContain(first.body.key)
    const retry = await t.as('u-own').post(keysOf(orgA), body, { headers })
    expect(retry.status).toBe(201)
    expect(retry.body).toEqual({ ...first.body, key: null })
    const [n] = await t.app.db.sql<{ n: number }[]>`
      select count(*)::int as n from org_api_keys where org_id = ${orgA} and name = 'idem'`
    expect(n!.n).toBe(1)
  })

  it('lets an admin create and revoke keys with a role below owner', async () => {
    const k = await createKey(orgA, { name: 'billing bot', scopes: ['billing:read'], role: 'billing' }, 'u-adm')
    expect(k.role).toBe('billing')
    const owner = await t.as('u-adm').post(keysOf(orgA), { name: 'x', scopes: ['projects:read'], role: 'owner' })
    expect(owner.status).toBe(422)
    const full = await t.as('u-adm').post(keysOf(orgA), { name: 'x', scopes: ['admin:full'] })
    expect(full.status).toBe(422)
    expect(full.body.error.details.field).toBe('scopes')
    expect((await t.as('u-adm').delete(`${keysOf(orgA)}/${k.id}`)).status).toBe(204)
    expect((await t.as('u-own').delete(`${keysOf(orgA)}/${k.id}`)).status).toBe(404)
    const list = await t.as('u-own').get(keysOf(orgA))
    expect(list.body.items.map((x: { id: string }) => x.id)).not.toContain(k.id)
  })

  it('answers 403 to members below admin and 404 to non-members', async () => {
    const k = await createKey(orgA, { name: 'm', scopes: ['projects:read'] })
    for (const user of ['u-mem', 'u-bill']) {
      expect((await t.as(user).get(keysOf(orgA))).status).toBe(403)
      const post = await t.as(user).post(keysOf(orgA), { name: 'x', scopes: ['projects:read'] })
      expect(post.status).toBe(403)
      expect(post.body.error.code).toBe('AUTHORIZATION_ERROR')
      expect((await t.as(user).delete(`${keysOf(orgA)}/${k.id}`)).status).toBe(403)
    }
    for (const user of ['u-other', 'u-stranger']) {
      expect((await t.as(user).get(keysOf(orgA))).status).toBe(404)
      expect((await t.as(user).post(keysOf(orgA), { name: 'x', scopes: ['projects:read'] })).status).toBe(404)
      expect((await t.as(user).delete(`${keysOf(orgA)}/${k.id}`)).status).toBe(404)
    }
    expect((await t.as('u-own').get(keysOf('not-a-uuid'))).status).toBe(404)
    // B's owner cannot revoke A's key through B either.
    expect((await t.as('u-other').delete(`${keysOf(orgB)}/${k.id}`)).status).toBe(404)
    expect((await t.as('u-own').get(`/api/v1/app/fixture/whoami`, bearer(k.key))).status).toBe(200)
  })

  it('records creation and revocation with the human admin as actor', async () => {
    const k = await createKey(orgA, { name: 'audited', scopes: ['projects:read'] }, 'u-adm')
    expect((await t.as('u-own').delete(`${keysOf(orgA)}/${k.id}`)).status).toBe(204)
    const rows = await t.app.db.sql<{ actor_id: string; action: string; details: unknown }[]>`
      select actor_id, action, details from audit_logs where resource_id = ${k.id} order by created_at, id`
    expect(rows.map((r) => [r.actor_id, r.action])).toEqual([
      ['u-adm', 'org_api_key.create'],
      ['u-own', 'org_api_key.revoke'],
    ])
    expect(rows[0]!.details).toMatchObject({ org_id: orgA, name: 'audited', role: 'member' })
    expect(JSON.stringify(rows)).not.toContain(k.key)
  })
})

describe('a key acts as the organization', () => {
  let key: { id: string; key: string }
  beforeAll(async () => {
    key = await createKey(orgA, { name: 'acting', scopes: ['projects:*', 'orgs:read'], role: 'admin' })
  })

  it('is the organization service user, with the key role and scopes', async () => {
    const me = await t.get('/api/v1/app/fixture/whoami', bearer(key.key))
    expect(me.status).toBe(200)
    expect(me.body).toEqual({
      user: `org:${orgA}`,
      full_name: 'Acme',
      kind: 'api_key',
      key: key.id,
      org: { id: orgA, role: 'admin' },
    })
    const [user] = await t.app.db.sql`select email, role, is_active from users where id = ${`org:${orgA}`}`
    expect(user).toEqual({ email: null, role: 'user', is_active: true })
  })

  // Needs the organization routes to read the caller's role from principal.org for the service
  // user (keyMembership in api-keys.ts), not from org_memberships: see docs/plugins/organizations-api-keys.md#roles.
  it('reads its own organization', async () => {
    const org = await t.get(`/api/v1/app/orgs/${orgA}`, bearer(key.key))
    expect(org.status).toBe(200)
    expect(org.body.id).toBe(orgA)
  })

  it('records its writes as the service user, naming the key', async () => {
    const write = await t.post('/api/v1/app/fixture/write', undefined, bearer(key.key))
    expect(write.status).toBe(200)
    const [row] = await t.app.db.sql<
      { actor_id: string; details: { api_key_id?: string } }[]
    >`select actor_id, details from audit_logs where id = ${write.body.audit_id}`
    expect(row!.actor_id).toBe(`org:${orgA}`)
    const details = typeof row!.details === 'string' ? JSON.parse(row!.details) : row!.details
    expect(details.api_key_id).toBe(key.id)
  })

  it('reads nothing of another organization', async () => {
    const named = await t.get('/api/v1/app/fixture/whoami', bearer(key.key, { 'x-organization-id': orgB }))
    expect(named.status).toBe(404)
    expect((await t.get('/api/v1/app/fixture/whoami', bearer(key.key, { 'x-organization-id': orgA }))).status).toBe(200)
    expect((await t.get(`/api/v1/app/orgs/${orgB}`, bearer(key.key))).status).toBe(404)
    expect((await t.get(`/api/v1/app/orgs/${orgB}/members`, bearer(key.key))).status).toBe(404)
    expect((await t.get(keysOf(orgB), bearer(key.key))).status).toBe(404)
    const mine = await t.get('/api/v1/app/orgs', bearer(key.key))
    expect(mine.status).toBe(200)
    expect(mine.text).not.toContain(orgB)
  })

  it('cannot manage keys, and is refused where its scopes do not reach', async () => {
    const post = await t.post(keysOf(orgA), { name: 'x', scopes: ['projects:read'] }, bearer(key.key))
    expect(post.status).toBe(403)
    expect((await t.get(keysOf(orgA), bearer(key.key))).status).toBe(403)
    expect((await t.get('/api/v1/app/users/me', bearer(key.key))).status).toBe(403)
  })

  it('leaves users keys working unchanged', async () => {
    const res = await t.as('u-own').post('/api/v1/app/api-keys', { name: 'mine', scopes: ['projects:read'] })
    expect(res.status).toBe(201)
    const me = await t.get('/api/v1/app/fixture/whoami', bearer(res.body.key))
    expect(me.status).toBe(200)
    expect(me.body).toMatchObject({ user: 'u-own', kind: 'api_key', key: res.body.id, org: null })
  })
})

describe('keys stop at once', () => {
  it('refuses a revoked key at once', async () => {
    const k = await createKey(orgA, { name: 'short', scopes: ['projects:read'] })
    expect((await t.get('/api/v1/app/fixture/whoami', bearer(k.key))).status).toBe(200)
    expect((await t.as('u-own').delete(`${keysOf(orgA)}/${k.id}`)).status).toBe(204)
    expect((await t.get('/api/v1/app/fixture/whoami', bearer(k.key))).status).toBe(401)
  })

  it('refuses malformed and unknown keys', async () => {
    expect((await t.get('/api/v1/app/fixture/whoami', bearer('oso_short'))).status).toBe(401)
    expect((await t.get('/api/v1/app/fixture/whoami', bearer(`oso_${'a'.repeat(40)}`))).status).toBe(401)
  })

  it('refuses the keys of a deleted organization at once', async () => {
    const org = await newOrg('u-own', 'Gone')
    const k = await createKey(org, { name: 'g', scopes: ['projects:read'] })
    expect((await t.get('/api/v1/app/fixture/whoami', bearer(k.key))).status).toBe(200)
    expect((await t.as('u-own').delete(`/api/v1/app/orgs/${org}`)).status).toBe(204)
    expect((await t.get('/api/v1/app/fixture/whoami', bearer(k.key))).status).toBe(401)
  })

  it('shows the last use before the batched write reaches the table', async () => {
    const k = await createKey(orgA, { name: 'used', scopes: ['projects:read'] })
    expect((await t.get('/api/v1/app/fixture/whoami', bearer(k.key))).status).toBe(200)
    const [before] = await t.app.db.sql<
      { last_used_at: Date | null }[]
    >`select last_used_at from org_api_keys where id = ${k.id}`
    expect(before!.last_used_at).toBeNull()
    const listed = await t.as('u-own').get(keysOf(orgA))
    expect(listed.body.items.find((x: { id: string }) => x.id === k.id).last_used_at).not.toBeNull()
  })
})

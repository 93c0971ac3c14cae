/**
 * Service users (docs/auth.md#service-users): the organization keys' users `org:<org_id>` are
 * reached only through an `oso_` key. A JWT naming one as its subject is 401, before any user row
 * is read or provisioned, also once the service user is in the replica's user cache; the admin
 * users list leaves them out. Without the organizations plugin the namespace is not reserved.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { testApp } from '../../../core/testing/index.ts'
import admin from '../../admin/index.ts'
import users from '../../users/index.ts'
import { createOrg, orgsApp, type OrgTestApp } from './support.ts'

describe('service users', () => {
  let t: OrgTestApp
  let org: string
  let key: string

  beforeAll(async () => {
    t = await orgsApp({ extra: [admin], env: { ADMIN_EMAILS: 'su-admin@example.com' } })
    org = await createOrg(t, 'su-owner', 'Servicio Labs')
    const made = await t
      .as('su-owner')
      .post(`/api/v1/app/orgs/${org}/api-keys`, { name: 'bot', scopes: ['orgs:read'], role: 'admin' })
    expect(made.status).toBe(201)
    key = made.body.key
  })
  afterAll(() => t.close())

  it('refuses a JWT whose subject is a service user, cached or not, and provisions nothing', async () => {
    // The key's request puts the service user in the user cache the JWT hot path reads.
    expect((await t.get(`/api/v1/app/orgs/${org}`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200)
    const forged = t.as({ sub: `org:${org}`, email: 'x@example.com', email_verified: true })
    // Twice: the first verifies the token (and caches it), the second takes the cached path.
    for (let i = 0; i < 2; i++) {
      const res = await forged.get(`/api/v1/app/orgs/${org}`)
      expect(res.status).toBe(401)
      expect(res.body.error.code).toBe('AUTHENTICATION_ERROR')
      expect(res.body.error.message).toBe('Token subject is reserved for service users')
    }
    const unknown = `org:00000000-0000-4000-8000-00000000abcd`
    expect((await t.as(unknown).get('/api/v1/app/users/me')).status).toBe(401)
    expect(await t.app.db.sql`select 1 from users where id = ${unknown}`).toHaveLength(0)
    // A subject that merely contains the prefix elsewhere is an ordinary user.
    expect((await t.as('my-org:1').get('/api/v1/app/users/me')).status).toBe(200)
  })

  it('leaves service users out of the admin users list, by default and when searched', async () => {
    const boss = t.as('su-admin')
    const all = await boss.get('/api/v1/admin/users?limit=100')
    expect(all.status).toBe(200)
    const ids = all.body.items.map((u: { id: string }) => u.id)
    expect(ids).toContain('su-owner')
    expect(ids.filter((id: string) => id.startsWith('org:'))).toEqual([])
    const [count] = await t.app.db.sql<{ n: number }[]>`select count(*)::int as n from users where id not like 'org:%'`
    expect(all.body.total).toBe(count!.n)
    const searched = await boss.get('/api/v1/admin/users?search=servicio')
    expect(searched.body.total).toBe(0)
    // The row exists: the list hides it, the key keeps working.
    expect(await t.app.db.sql`select 1 from users where id = ${`org:${org}`}`).toHaveLength(1)
  })

  it('is not found by the admin routes that read, change or impersonate one user, nor counted', async () => {
    const boss = t.as('su-admin')
    const id = encodeURIComponent(`org:${org}`)
    const refused = [
      await boss.get(`/api/v1/admin/users/${id}`),
      await boss.patch(`/api/v1/admin/users/${id}`, { role: 'agent' }),
      await boss.post(`/api/v1/admin/users/${id}/deactivate`, {}),
      await boss.post('/api/v1/admin/impersonate/start', { user_id: `org:${org}`, reason: 'support' }),
    ]
    for (const res of refused) {
      expect(res.status).toBe(404)
      expect(res.body.error.code).toBe('NOT_FOUND')
    }
    // Nothing changed: the service user is still an active plain user and its key still works.
    const [row] = await t.app.db.sql<{ role: string; is_active: boolean }[]>`
      select role, is_active from users where id = ${`org:${org}`}`
    expect(row).toEqual({ role: 'user', is_active: true })
    expect((await t.get(`/api/v1/app/orgs/${org}`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200)
    const stats = await boss.get('/api/v1/admin/dashboard/stats')
    expect(stats.status).toBe(200)
    const [people] = await t.app.db.sql<{ n: number }[]>`select count(*)::int as n from users where id not like 'org:%'`
    expect(stats.body.users.total).toBe(people!.n)
  })

  it('without the organizations plugin an org: subject is an ordinary user', async () => {
    const bare = await testApp({ plugins: [users] })
    try {
      const res = await bare.as('org:whatever').get('/api/v1/app/users/me')
      expect(res.status).toBe(200)
      expect(res.body.id).toBe('org:whatever')
    } finally {
      await bare.close()
    }
  })
})

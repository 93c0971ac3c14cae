/** Admin access and user management: every route refused to users and agents, role rules, activation, audit entries. */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import type { TestApp } from '../../../core/testing/index.ts'
import { adminApp, adminRoutes, BOSS, ROOT } from './support.ts'

let t: TestApp
beforeAll(async () => {
  t = await adminApp({ env: { TRUSTED_PROXIES: '10.0.0.0/8' } })
})
afterAll(() => t?.close())

const setRole = (sub: string, role: string) => t.as(ROOT).patch(`/api/v1/admin/users/${sub}`, { role })

describe('who may call /admin', () => {
  it('refuses a plain user, an agent and their API keys on every admin route', async () => {
    await t.as('u-plain').get('/api/v1/app/users/me')
    await t.as('u-agent').get('/api/v1/app/users/me')
    expect((await setRole('u-agent', 'agent')).status).toBe(200)
    const key = (await t.as('u-plain').post('/api/v1/app/api-keys', { name: 'k', scopes: ['users:read'] })).body.key
    const routes = [...adminRoutes(t, 'v1'), ...adminRoutes(t, 'v2')]
    expect(routes.length).toBeGreaterThanOrEqual(20)
    const problems: string[] = []
    for (const r of routes) {
      const body = ['POST', 'PATCH', 'PUT'].includes(r.method)
        ? { role: 'superadmin', is_active: true, user_id: 'u-root', reason: 'x' }
        : undefined
      for (const [who, client] of [
        ['user', t.as('u-plain')],
        ['agent', t.as('u-agent')],
      ] as const) {
        const res = await client.request(r.method, r.path, { body })
        if (res.status !== 403 || res.body.error.code !== 'AUTHORIZATION_ERROR')
          problems.push(`${who} ${r.method} ${r.path} -> ${res.status}`)
      }
      const viaKey = await t.request(r.method, r.path, { body, headers: { authorization: `Bearer ${key}` } })
      if (viaKey.status !== 403) problems.push(`key ${r.method} ${r.path} -> ${viaKey.status}`)
      if ((await t.request(r.method, r.path, { body })).status !== 401) problems.push(`anonymous ${r.method} ${r.path}`)
    }
    expect(problems).toEqual([])
    const [row] = await t.app.db.sql`select role from users where id = 'u-root'`
    expect(row!.role).toBe('superadmin')
  })

  it('lets an admin API key in only with admin:full', async () => {
    const narrow = (await t.as(BOSS).post('/api/v1/app/api-keys', { name: 'n', scopes: ['users:read'] })).body.key
    const full = (await t.as(BOSS).post('/api/v1/app/api-keys', { name: 'f', scopes: ['admin:full'] })).body.key
    const denied = await t.get('/api/v1/admin/users', { headers: { authorization: `Bearer ${narrow}` } })
    expect(denied.status).toBe(403)
    expect(denied.body.error.details).toEqual({ required: 'admin:full', granted: ['users:read'] })
    expect((await t.get('/api/v1/admin/users', { headers: { authorization: `Bearer ${full}` } })).status).toBe(200)
  })
})

describe('admin users', () => {
  beforeAll(async () => {
    for (const [sub, email, name] of [
      ['u-list-1', 'zed.one@corp.example', 'Zed One'],
      ['u-list-2', 'amy@corp.example', 'Amy 100% Real'],
      ['u-list-3', 'ray@other.example', 'Ray Zedson'],
    ])
      await t.as({ sub: sub!, email, name }).get('/api/v1/app/users/me')
    await t.as(ROOT).post('/api/v1/admin/users/u-list-3/deactivate')
  })

  it('lists with pagination, newest first', async () => {
    const res = await t.as(BOSS).get('/api/v1/admin/users?limit=2')
    expect(res.status).toBe(200)
    expect(res.body.items.length).toBe(2)
    expect(res.body).toMatchObject({ skip: 0, limit: 2 })
    expect(res.body.total).toBeGreaterThanOrEqual(5)
    const all = (await t.as(BOSS).get('/api/v1/admin/users?limit=100')).body.items
    const times = all.map((u: { created_at: string }) => new Date(u.created_at).getTime())
    expect([...times].sort((a, b) => b - a)).toEqual(times)
    expect(Object.keys(all[0]).sort()).toEqual([
      'avatar_url',
      'created_at',
      'deleted_at',
      'email',
      'full_name',
      'id',
      'is_active',
      'role',
      'subscription_plan',
      'subscription_status',
      'updated_at',
    ])
  })

  it('searches email and name case-insensitively, literally', async () => {
    const ids = async (q: string) =>
      (await t.as(BOSS).get(`/api/v1/admin/users?${q}`)).body.items.map((u: { id: string }) => u.id).sort()
    expect(await ids('search=ZED')).toEqual(['u-list-1', 'u-list-3'])
    expect(await ids('search=corp.example')).toEqual(['u-list-1', 'u-list-2'])
    expect(await ids('search=100%25')).toEqual(['u-list-2'])
    expect(await ids('search=%25')).toEqual(['u-list-2'])
    expect(await ids('search=zed&is_active=true')).toEqual(['u-list-1'])
    expect(await ids('search=zed&is_active=false')).toEqual(['u-list-3'])
    expect(await ids('role=superadmin')).toEqual(['u-root'])
  })

  it('refuses bad filters with 422', async () => {
    for (const [q, field] of [
      ['role=king', 'role'],
      ['is_active=maybe', 'is_active'],
      ['limit=101', 'limit'],
    ]) {
      const res = await t.as(BOSS).get(`/api/v1/admin/users?${q}`)
      expect(res.status).toBe(422)
      expect(res.body.error.details.field).toBe(field)
    }
  })

  it('adds the v2 fields and meta.pagination', async () => {
    const res = await t.as(BOSS).get('/api/v2/admin/users?search=amy')
    expect(res.body.data[0]).toMatchObject({ id: 'u-list-2', is_premium: false, days_since_joined: 0 })
    expect(res.body.meta.pagination).toEqual({ total: 1, skip: 0, limit: 20 })
    const one = await t.as(BOSS).get('/api/v2/admin/users/u-list-2')
    expect(one.body.data).toMatchObject({ id: 'u-list-2', is_premium: false })
  })

  it('gets one user or 404', async () => {
    expect((await t.as(BOSS).get('/api/v1/admin/users/u-list-1')).body).toMatchObject({
      id: 'u-list-1',
      email: 'zed.one@corp.example',
    })
    const res = await t.as(BOSS).get('/api/v1/admin/users/nobody')
    expect(res.status).toBe(404)
    expect(res.body.error.code).toBe('NOT_FOUND')
  })
})

describe('roles', () => {
  it('lets an admin grant and revoke agent and admin, never superadmin', async () => {
    await t.as('u-r1').get('/api/v1/app/users/me')
    expect((await t.as(BOSS).patch('/api/v1/admin/users/u-r1', { role: 'agent' })).body.role).toBe('agent')
    const granted = await t.as(BOSS).patch('/api/v1/admin/users/u-r1', { role: 'admin' })
    expect(granted.status).toBe(200)
    expect(granted.body.role).toBe('admin')
    // The new role applies at once (the user cache is dropped on every replica).
    expect((await t.as('u-r1').get('/api/v1/admin/users')).status).toBe(200)
    // Activation of an admin is an admin's too (one who may revoke the role anyway).
    expect((await t.as(BOSS).post('/api/v1/admin/users/u-r1/deactivate')).body).toMatchObject({
      role: 'admin',
      is_active: false,
    })
    expect((await t.as(BOSS).post('/api/v1/admin/users/u-r1/activate')).body).toMatchObject({
      role: 'admin',
      is_active: true,
    })
    const res = await t.as(BOSS).patch('/api/v1/admin/users/u-r1', { role: 'superadmin' })
    expect(res.status).toBe(403)
    expect(res.body.error.details.required_role).toBe('superadmin')
    expect((await t.as(BOSS).patch('/api/v1/admin/users/u-r1', { role: 'agent' })).body.role).toBe('agent')
    expect((await t.as(BOSS).patch('/api/v1/admin/users/u-r1', { role: 'user' })).body.role).toBe('user')
    expect((await t.as('u-r1').get('/api/v1/admin/users')).status).toBe(403)
    expect((await t.as(BOSS).patch('/api/v1/admin/users/u-r1', { role: 'owner' })).status).toBe(422)
  })

  it('lets only a superadmin grant, revoke or change superadmin', async () => {
    await t.as('u-r2').get('/api/v1/app/users/me')
    expect((await t.as(ROOT).patch('/api/v1/admin/users/u-r2', { role: 'superadmin' })).body.role).toBe('superadmin')
    for (const body of [{ role: 'admin' }, { role: 'user' }, { is_active: false }]) {
      const res = await t.as(BOSS).patch('/api/v1/admin/users/u-r2', body)
      expect(res.status).toBe(403)
      expect(res.body.error.details.required_role).toBe('superadmin')
    }
    expect((await t.as(BOSS).post('/api/v1/admin/users/u-r2/deactivate')).status).toBe(403)
    expect((await t.as(BOSS).get('/api/v1/admin/users/u-r2')).body).toMatchObject({
      role: 'superadmin',
      is_active: true,
    })
    expect((await t.as(ROOT).patch('/api/v1/admin/users/u-r2', { role: 'admin' })).body.role).toBe('admin')
    expect((await t.as(ROOT).patch('/api/v1/admin/users/u-r2', { role: 'user' })).body.role).toBe('user')
    expect((await t.as('u-r2').get('/api/v1/admin/users')).status).toBe(403)
  })

  it('lets nobody change their own role (403, field role)', async () => {
    for (const [who, role] of [
      [BOSS, 'user'],
      [BOSS, 'superadmin'],
      [ROOT, 'admin'],
    ] as const) {
      const res = await t.as(who).patch(`/api/v1/admin/users/${who.sub}`, { role })
      expect(res.status).toBe(403)
      expect(res.body.error.code).toBe('AUTHORIZATION_ERROR')
      expect(res.body.error.details.field).toBe('role')
    }
    const rows = await t.app.db.sql`select id, role from users where id in ('u-boss', 'u-root') order by id`
    expect(rows.map((r) => [r.id, r.role])).toEqual([
      ['u-boss', 'admin'],
      ['u-root', 'superadmin'],
    ])
    // Naming the role one already has is no change.
    expect((await t.as(ROOT).patch('/api/v1/admin/users/u-root', { role: 'superadmin', is_active: true })).status).toBe(
      200,
    )
  })

  it('never deactivates the last superadmin', async () => {
    const res = await t.as(ROOT).patch('/api/v1/admin/users/u-root', { is_active: false })
    expect(res.status).toBe(409)
    expect(res.body.error.code).toBe('CONFLICT')
    expect((await t.as(ROOT).post('/api/v1/admin/users/u-root/deactivate')).status).toBe(409)
    // With a second superadmin, the first may be deactivated (and activated again by the other).
    await t.as('u-r3').get('/api/v1/app/users/me')
    expect((await t.as(ROOT).patch('/api/v1/admin/users/u-r3', { role: 'superadmin' })).status).toBe(200)
    expect((await t.as('u-r3').post('/api/v1/admin/users/u-root/deactivate')).status).toBe(200)
    expect((await t.as('u-r3').post('/api/v1/admin/users/u-root/activate')).status).toBe(200)
  })

  it('audits role changes with ip (per TRUSTED_PROXIES) and request id', async () => {
    await t.as('u-r4').get('/api/v1/app/users/me')
    await t.as(BOSS).patch(
      '/api/v1/admin/users/u-r4',
      { role: 'agent' },
      {
        ip: '10.1.2.3',
        headers: { 'x-forwarded-for': '198.51.100.7, 10.9.9.9', 'x-request-id': 'req-role-1' },
      },
    )
    const res = await t
      .as(ROOT)
      .get('/api/v1/admin/dashboard/audit-logs?action=user.role_change&resource_type=user&actor_id=u-boss')
    const entry = res.body.items.find((e: { resource_id: string }) => e.resource_id === 'u-r4')
    expect(entry).toMatchObject({
      actor_id: 'u-boss',
      ip_address: '198.51.100.7',
      request_id: 'req-role-1',
      details: { from: 'user', to: 'agent' },
    })
  })

  it('audits every role change, one entry per change', async () => {
    await t.as('u-r5').get('/api/v1/app/users/me')
    for (const [who, role] of [
      [BOSS, 'agent'],
      [BOSS, 'admin'],
      [BOSS, 'user'],
      [ROOT, 'superadmin'],
      [ROOT, 'agent'],
    ] as const) {
      expect((await t.as(who).patch('/api/v1/admin/users/u-r5', { role })).status).toBe(200)
    }
    const log = await t.app.db.sql`
      select actor_id, details from audit_logs where action = 'user.role_change' and resource_id = 'u-r5' order by created_at, id`
    expect(log.map((e) => [e.actor_id, e.details.from, e.details.to])).toEqual([
      ['u-boss', 'user', 'agent'],
      ['u-boss', 'agent', 'admin'],
      ['u-boss', 'admin', 'user'],
      ['u-root', 'user', 'superadmin'],
      ['u-root', 'superadmin', 'agent'],
    ])
  })
})

describe('activation', () => {
  it('deactivates at once and activates again, audited', async () => {
    await t.as('u-act').get('/api/v1/app/users/me')
    const off = await t
      .as(BOSS)
      .post('/api/v1/admin/users/u-act/deactivate', undefined, { headers: { 'x-request-id': 'req-deact' } })
    expect(off.status).toBe(200)
    expect(off.body.is_active).toBe(false)
    const refused = await t.as('u-act').get('/api/v1/app/users/me')
    expect(refused.status).toBe(403)
    expect((await t.as(BOSS).post('/api/v1/admin/users/u-act/activate')).body.is_active).toBe(true)
    expect((await t.as('u-act').get('/api/v1/app/users/me')).status).toBe(200)
    const log = (
      await t.as(BOSS).get('/api/v1/admin/dashboard/audit-logs?resource_type=user&limit=100')
    ).body.items.filter((e: { resource_id: string }) => e.resource_id === 'u-act')
    expect(log.map((e: { action: string }) => e.action)).toEqual(['user.activate', 'user.deactivate'])
    expect(log[1]).toMatchObject({ request_id: 'req-deact', ip_address: '127.0.0.1', actor_id: 'u-boss' })
    expect((await t.as(BOSS).post('/api/v1/admin/users/nobody/deactivate')).status).toBe(404)
  })
})

/** Admin jobs, dashboard statistics and audit logs. */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import type { TestApp } from '../../../core/testing/index.ts'
import { adminApp, BOSS, ROOT } from './support.ts'

let t: TestApp
beforeAll(async () => {
  t = await adminApp()
})
afterAll(() => t?.close())

describe('jobs', () => {
  let dead: string
  beforeAll(async () => {
    dead = (await t.app.jobs.enqueue('fixture.explode', { n: 1 }, { maxAttempts: 1 })).id
    await t.app.jobs.enqueue('fixture.later', {}, { runAt: new Date(Date.now() + 3600_000) })
    await t.app.jobs.runDue()
  })

  it('lists jobs filtered by state and queue', async () => {
    const res = await t.as(BOSS).get('/api/v1/admin/jobs?state=dead&queue=fixture')
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ total: 1, skip: 0, limit: 20 })
    expect(res.body.items[0]).toMatchObject({
      id: dead,
      name: 'fixture.explode',
      queue: 'fixture',
      state: 'dead',
      attempts: 1,
    })
    expect(res.body.items[0].last_error).toContain('boom')
    expect((await t.as(BOSS).get('/api/v1/admin/jobs?queue=fixture')).body.total).toBe(2)
    expect((await t.as(BOSS).get('/api/v1/admin/jobs?queue=fixture.later')).body.items[0].state).toBe('queued')
    expect((await t.as(BOSS).get('/api/v1/admin/jobs?queue=nothing')).body.total).toBe(0)
    const v2 = await t.as(BOSS).get('/api/v2/admin/jobs?state=dead')
    expect(v2.body.meta.pagination.total).toBe(1)
    const bad = await t.as(BOSS).get('/api/v1/admin/jobs?state=exploded')
    expect(bad.status).toBe(422)
    expect(bad.body.error.details.field).toBe('state')
  })

  it('retries a dead job once, audited', async () => {
    const res = await t
      .as(BOSS)
      .post(`/api/v1/admin/jobs/${dead}/retry`, undefined, { headers: { 'x-request-id': 'req-retry' } })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ id: dead, state: 'queued', attempts: 0 })
    const again = await t.as(BOSS).post(`/api/v1/admin/jobs/${dead}/retry`)
    expect(again.status).toBe(409)
    expect(again.body.error.details.state).toBe('queued')
    expect((await t.as(BOSS).post('/api/v1/admin/jobs/00000000-0000-4000-8000-000000000000/retry')).status).toBe(404)
    expect((await t.as(BOSS).post('/api/v1/admin/jobs/not-a-job/retry')).status).toBe(404)
    const [entry] = await t.app.db.sql`select * from audit_logs where action = 'job.retry'`
    expect(entry).toMatchObject({
      actor_id: 'u-boss',
      resource_type: 'job',
      resource_id: dead,
      request_id: 'req-retry',
      ip_address: '127.0.0.1',
    })
  })
})

describe('dashboard stats', () => {
  it('has the seed shape for the sections installed plugins contribute, and nothing else', async () => {
    await t.as('u-new').get('/api/v1/app/users/me')
    await t.app.db.sql`update users set created_at = now() - interval '20 days' where id = 'u-boss'`
    await t.app.db.sql`update users set created_at = now() - interval '90 days', is_active = false where id = 'u-new'`
    const res = await t.as(BOSS).get('/api/v1/admin/dashboard/stats')
    expect(res.status).toBe(200)
    expect(Object.keys(res.body).sort()).toEqual(['jobs', 'subscriptions', 'users'])
    const [{ n }] = (await t.app.db.sql`select count(*)::int as n from users`) as unknown as [{ n: number }]
    expect(res.body.users).toEqual({ total: n, active: n - 1, new_last_7_days: n - 2, new_last_30_days: n - 1 })
    expect(Object.keys(res.body.jobs).sort()).toEqual(['completed_last_24h', 'failed_last_24h', 'queued'])
    expect(res.body.subscriptions).toEqual({ active: 2, by_plan: { free: 1, pro: 2 } })
    const v2 = await t.as(BOSS).get('/api/v2/admin/dashboard/stats')
    expect(v2.body.data.users.total).toBe(n)
  })
})

describe('audit logs', () => {
  beforeAll(async () => {
    for (const sub of ['u-a1', 'u-a2', 'u-a3']) {
      await t.as(sub).get('/api/v1/app/users/me')
      await t.as(BOSS).post(`/api/v1/admin/users/${sub}/deactivate`)
    }
    await t.as(ROOT).patch('/api/v1/admin/users/u-a1', { role: 'agent' })
  })

  it('lists newest first with the seed fields, a default limit of 50 and pagination', async () => {
    const res = await t.as(ROOT).get('/api/v1/admin/dashboard/audit-logs')
    expect(res.status).toBe(200)
    expect(res.body.limit).toBe(50)
    expect(res.body.total).toBeGreaterThanOrEqual(5)
    const first = res.body.items[0]
    expect(Object.keys(first).sort()).toEqual([
      'action',
      'actor_id',
      'created_at',
      'details',
      'id',
      'ip_address',
      'request_id',
      'resource_id',
      'resource_type',
    ])
    expect(first).toMatchObject({ action: 'user.role_change', actor_id: 'u-root', resource_id: 'u-a1' })
    const page2 = await t.as(ROOT).get('/api/v1/admin/dashboard/audit-logs?limit=1&skip=1')
    expect(page2.body.items[0].id).toBe(res.body.items[1].id)
    expect((await t.as(ROOT).get('/api/v1/admin/dashboard/audit-logs?limit=101')).status).toBe(422)
  })

  it('filters by actor_id, action and resource_type', async () => {
    const q = async (qs: string) => (await t.as(ROOT).get(`/api/v1/admin/dashboard/audit-logs?${qs}`)).body
    const byBoss = await q('actor_id=u-boss&action=user.deactivate&resource_type=user')
    expect(byBoss.items.map((e: { resource_id: string }) => e.resource_id)).toEqual(['u-a3', 'u-a2', 'u-a1'])
    expect(byBoss.total).toBe(3)
    expect((await q('actor_id=u-root&action=user.deactivate')).total).toBe(0)
    expect((await q('resource_type=job')).items.map((e: { action: string }) => e.action)).toEqual(['job.retry'])
    expect((await q('resource_type=user&resource_id=u-a2')).total).toBe(1)
  })

  it('is append-only: no route changes entries and the database refuses updates and deletes', async () => {
    const [entry] = await t.app.db.sql`select id from audit_logs limit 1`
    for (const method of ['PATCH', 'PUT', 'DELETE']) {
      const res = await t.as(ROOT).request(method, `/api/v1/admin/dashboard/audit-logs/${entry!.id}`, {
        body: method === 'DELETE' ? undefined : {},
      })
      expect(res.status).toBe(404)
    }
    expect(
      t.app.db.sql`update audit_logs set action = 'forged' where id = ${entry!.id}`.then(() => 'ok'),
    ).rejects.toThrow(/append-only/)
    expect(t.app.db.sql`delete from audit_logs`.then(() => 'ok')).rejects.toThrow(/append-only/)
    const [still] = await t.app.db.sql`select count(*)::int as n from audit_logs where action = 'forged'`
    expect(still!.n).toBe(0)
  })
})

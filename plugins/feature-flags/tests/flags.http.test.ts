import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { definePlugin } from '../../../core/index.ts'
import { keyHeader, scopedKeys, testApp, type TestApp } from '../../../core/testing/index.ts'
import { createFeatureFlagsPlugin, type FeatureFlagsService } from '../index.ts'

let clock = new Date('2026-01-10T12:00:00Z')
/** Hands the app's dashboard stats registry to the test as its service. */
const statsProbe = definePlugin({ name: 'test-stats-probe', setup: (ctx) => ({ service: ctx.stats }) })
/** An API key of `user` with `scopes` (core/testing's scopedKeys; the users plugin's osk_ keys work the same). */
const key = (user: string, ...scopes: string[]) => ({ headers: keyHeader(user, ...scopes) })
const admin = { sub: 'flags-admin', email: 'flags-admin@example.com' }
const featureFlags = createFeatureFlagsPlugin({ now: () => clock })
let t: TestApp
let flags: FeatureFlagsService

beforeAll(async () => {
  t = await testApp({
    plugins: [featureFlags, statsProbe, scopedKeys],
    env: { ADMIN_EMAILS: 'flags-admin@example.com', RATE_LIMIT_DEFAULT: '100000/minute' },
  })
  flags = t.app.service(featureFlags)
})
afterAll(() => t?.close())

const create = (body: Record<string, unknown>) => t.as(admin).post('/api/v1/admin/feature-flags', body)
const check = (key: string, user: string, extra = '') =>
  t.as(admin).get(`/api/v1/admin/feature-flags/${key}/check?user_id=${user}${extra}`)

describe('feature flag admin', () => {
  let id: string

  it('creates a flag (201) with defaults', async () => {
    const res = await create({
      key: 'beta_feature',
      name: 'Beta Feature',
      description: 'New experimental feature',
      flag_type: 'percentage',
      percentage: 10,
      is_enabled: true,
    })
    expect(res.status).toBe(201)
    expect(res.body).toMatchObject({
      key: 'beta_feature',
      name: 'Beta Feature',
      description: 'New experimental feature',
      flag_type: 'percentage',
      is_enabled: true,
      percentage: 10,
      user_ids: [],
      plans: [],
      expires_at: null,
    })
    expect(res.body.id).toMatch(/^[0-9a-f-]{36}$/)
    id = res.body.id
    const plain = await create({ key: 'plain', name: 'Plain' })
    expect(plain.body).toMatchObject({ flag_type: 'boolean', is_enabled: false, percentage: 0 })
  })

  it('refuses a duplicate key with 409 CONFLICT', async () => {
    const res = await create({ key: 'beta_feature', name: 'Again' })
    expect(res.status).toBe(409)
    expect(res.body.error.code).toBe('CONFLICT')
    expect(res.body.error.details.field).toBe('key')
  })

  it('validates the key and the fields with 422', async () => {
    const bad = [
      [{ key: 'Beta', name: 'x' }, 'key'],
      [{ key: '-beta', name: 'x' }, 'key'],
      [{ key: 'a'.repeat(65), name: 'x' }, 'key'],
      [{ key: 'has space', name: 'x' }, 'key'],
      [{ key: '0b2c8c9e-1d7a-4c39-9f57-3c1b6c1d2e3f', name: 'x' }, 'key'],
      [{ key: 'ok', name: '' }, 'name'],
      [{ key: 'ok' }, 'name'],
      [{ key: 'ok', name: 'x', flag_type: 'random' }, 'flag_type'],
      [{ key: 'ok', name: 'x', percentage: 101 }, 'percentage'],
      [{ key: 'ok', name: 'x', percentage: -1 }, 'percentage'],
      [{ key: 'ok', name: 'x', expires_at: 'tomorrow' }, 'expires_at'],
      [{ key: 'ok', name: 'x', user_ids: 'u1' }, 'user_ids'],
      [{ key: 'ok', name: 'a\u0000b' }, 'name'],
      [{ key: 'ok', name: 'x', user_ids: ['\u0000'] }, 'user_ids.0'],
      [{ key: 'ok', name: 'x', plans: ['\u0000'] }, 'plans.0'],
      [{ key: 'ok', name: 'x', description: 'd\u0000' }, 'description'],
    ] as const
    for (const [body, field] of bad) {
      const res = await create(body)
      expect([res.status, res.body.error?.code, res.body.error?.details?.field, JSON.stringify(body)]).toEqual([
        422,
        'VALIDATION_ERROR',
        field,
        JSON.stringify(body),
      ])
    }
    for (const path of [
      '/api/v1/admin/feature-flags/%00',
      '/api/v1/admin/feature-flags/%00/check?user_id=x',
      '/api/v1/admin/feature-flags/x/check?user_id=%00',
    ]) {
      expect([path, (await t.as(admin).get(path)).status]).toEqual([path, 422])
    }
    expect((await t.as(admin).patch('/api/v1/admin/feature-flags/%00', { name: 'x' })).status).toBe(422)
    expect((await t.as(admin).delete('/api/v1/admin/feature-flags/%00')).status).toBe(422)
    expect((await create({ key: 'a.b-c_0', name: 'Fine' })).status).toBe(201)
  })

  it('lists flags newest first with pagination', async () => {
    const res = await t.as(admin).get('/api/v1/admin/feature-flags')
    expect(res.status).toBe(200)
    expect(res.body.items.map((f: { key: string }) => f.key)).toEqual(['a.b-c_0', 'plain', 'beta_feature'])
    expect(res.body).toMatchObject({ total: 3, skip: 0, limit: 20 })
    const v2 = await t.as(admin).get('/api/v2/admin/feature-flags?limit=1&skip=1')
    expect(v2.body.data.map((f: { key: string }) => f.key)).toEqual(['plain'])
    // More rows follow: next_after is the cursor to them (docs/pagination.md).
    expect(v2.body.meta.pagination).toEqual({ total: 3, skip: 1, limit: 1, next_after: expect.any(String) })
    const next = await t
      .as(admin)
      .get(`/api/v2/admin/feature-flags?limit=1&after=${v2.body.meta.pagination.next_after}`)
    expect(next.body.data.map((f: { key: string }) => f.key)).toEqual(['beta_feature'])
    expect(next.body.meta.pagination).toEqual({ total: 3, skip: 0, limit: 1 })
  })

  it('gets and updates a flag by id or key; the key stays', async () => {
    expect((await t.as(admin).get(`/api/v1/admin/feature-flags/${id}`)).body.key).toBe('beta_feature')
    expect((await t.as(admin).get('/api/v1/admin/feature-flags/beta_feature')).body.id).toBe(id)
    const res = await t.as(admin).patch(`/api/v1/admin/feature-flags/${id}`, { percentage: 50, is_enabled: true })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({
      key: 'beta_feature',
      percentage: 50,
      flag_type: 'percentage',
      name: 'Beta Feature',
    })
    const byKey = await t
      .as(admin)
      .patch('/api/v1/admin/feature-flags/plain', { description: null, name: 'Plain flag' })
    expect(byKey.body).toMatchObject({ name: 'Plain flag', flag_type: 'boolean', description: null })
    expect((await t.as(admin).patch('/api/v1/admin/feature-flags/nope', { name: 'x' })).status).toBe(404)
    expect((await t.as(admin).patch(`/api/v1/admin/feature-flags/${id}`, { percentage: 150 })).status).toBe(422)
  })

  it('deletes a flag (204), then 404', async () => {
    const res = await t.as(admin).delete('/api/v1/admin/feature-flags/a.b-c_0')
    expect(res.status).toBe(204)
    expect(res.text).toBe('')
    expect((await t.as(admin).delete('/api/v1/admin/feature-flags/a.b-c_0')).status).toBe(404)
    expect((await t.as(admin).get('/api/v1/admin/feature-flags/a.b-c_0')).status).toBe(404)
    expect((await check('a.b-c_0', 'u1')).status).toBe(404)
  })

  it('audit-logs every change with the admin as actor', async () => {
    const rows = await t.app.db.sql<
      { action: string; actor_id: string; resource_id: string; details: Record<string, any> }[]
    >`
      select action, actor_id, resource_id, details from audit_logs where resource_type = 'feature_flag' order by created_at, id`
    expect(rows.map((r) => r.action)).toEqual([
      'feature_flag.create',
      'feature_flag.create',
      'feature_flag.create',
      'feature_flag.update',
      'feature_flag.update',
      'feature_flag.delete',
    ])
    expect(rows.every((r) => r.actor_id === 'flags-admin')).toBe(true)
    expect(rows[3]!.details.changes).toEqual({ percentage: { from: 10, to: 50 } })
    expect(rows[3]!.resource_id).toBe(id)
  })

  it('refuses non-admins with 403', async () => {
    for (const [method, path] of [
      ['GET', '/api/v1/admin/feature-flags'],
      ['POST', '/api/v1/admin/feature-flags'],
      ['PATCH', `/api/v1/admin/feature-flags/${id}`],
      ['DELETE', `/api/v1/admin/feature-flags/${id}`],
      ['GET', `/api/v1/admin/feature-flags/beta_feature/check?user_id=u1`],
    ] as const) {
      const res = await t
        .as('plain-user')
        .request(method, path, { body: method === 'POST' || method === 'PATCH' ? { key: 'x', name: 'x' } : undefined })
      expect([method, path, res.status, res.body.error.code]).toEqual([method, path, 403, 'AUTHORIZATION_ERROR'])
    }
  })
})

describe('API keys', () => {
  it('need admin:full on admin routes and feature_flags:read on the caller route', async () => {
    await t.as(admin).get('/api/v1/app/feature-flags')
    expect((await t.get('/api/v1/admin/feature-flags', key('flags-admin', 'projects:read'))).status).toBe(403)
    expect((await t.get('/api/v1/admin/feature-flags', key('flags-admin', 'admin:full'))).status).toBe(200)
    expect((await t.get('/api/v1/app/feature-flags', key('flags-admin', 'projects:read'))).status).toBe(403)
    expect((await t.get('/api/v1/app/feature-flags', key('flags-admin', 'feature_flags:read'))).status).toBe(200)
  })
})

describe('feature flag evaluation', () => {
  beforeAll(async () => {
    await create({ key: 'off', name: 'Off', flag_type: 'boolean', is_enabled: false })
    await create({ key: 'on', name: 'On', flag_type: 'boolean', is_enabled: true })
    await create({ key: 'half', name: 'Half', flag_type: 'percentage', percentage: 50, is_enabled: true })
    await create({ key: 'vip', name: 'VIP', flag_type: 'user_list', user_ids: ['alice'], is_enabled: true })
    await create({
      key: 'pro_only',
      name: 'Pro',
      flag_type: 'plan_based',
      plans: ['pro', 'enterprise'],
      is_enabled: true,
    })
    await create({
      key: 'promo',
      name: 'Promo',
      flag_type: 'boolean',
      is_enabled: true,
      expires_at: '2026-01-31T00:00:00Z',
    })
  })

  it('answers the check with each reason', async () => {
    const reasons = async (key: string, user: string, extra = '') => {
      const res = await check(key, user, extra)
      expect(res.status).toBe(200)
      return [res.body.flag_key, res.body.is_enabled, res.body.reason]
    }
    expect(await reasons('off', 'alice')).toEqual(['off', false, 'disabled'])
    expect(await reasons('on', 'alice')).toEqual(['on', true, 'enabled'])
    expect(await reasons('vip', 'alice')).toEqual(['vip', true, 'user_list'])
    expect(await reasons('vip', 'bob')).toEqual(['vip', false, 'not_in_user_list'])
    expect(await reasons('pro_only', 'alice')).toEqual(['pro_only', false, 'plan_not_included'])
    expect(await reasons('pro_only', 'alice', '&plan=pro')).toEqual(['pro_only', true, 'plan'])
    const half = new Set<string>()
    for (let i = 0; i < 40; i++) half.add((await check('half', `user_${i}`)).body.reason)
    expect([...half].sort()).toEqual(['not_in_rollout', 'percentage_rollout'])
    expect((await check('nope', 'alice')).status).toBe(404)
    expect((await t.as(admin).get('/api/v1/admin/feature-flags/on/check')).status).toBe(422)
  })

  it('evaluates an expired flag as disabled (injected clock)', async () => {
    expect((await check('promo', 'alice')).body).toEqual({ flag_key: 'promo', is_enabled: true, reason: 'enabled' })
    clock = new Date('2026-01-31T00:00:00Z')
    expect((await check('promo', 'alice')).body).toEqual({ flag_key: 'promo', is_enabled: false, reason: 'expired' })
    clock = new Date('2026-01-10T12:00:00Z')
  })

  it('reads plans from a registered resolver, everyone on free without one', async () => {
    expect(await flags.isEnabled('pro_only', 'alice')).toBe(false)
    flags.setPlanResolver((userId) => (userId === 'alice' ? 'pro' : null))
    try {
      expect(await flags.evaluate('pro_only', 'alice')).toEqual({
        flag_key: 'pro_only',
        is_enabled: true,
        reason: 'plan',
      })
      expect(await flags.isEnabled('pro_only', 'bob')).toBe(false)
      expect((await check('pro_only', 'alice')).body.reason).toBe('plan')
    } finally {
      flags.setPlanResolver(undefined)
    }
    flags.setPlanResolver(() => {
      throw new Error('billing down')
    })
    expect(await flags.isEnabled('pro_only', 'alice')).toBe(false)
    flags.setPlanResolver(undefined)
  })

  it('caches resolved plans and takes a subscription.updated plan at once', async () => {
    let calls = 0
    flags.setPlanResolver(() => {
      calls++
      return 'free'
    })
    try {
      expect(await flags.isEnabled('pro_only', 'dora')).toBe(false)
      expect(await flags.isEnabled('pro_only', 'dora')).toBe(false)
      expect(calls).toBe(1)
      await t.app.events.publish('subscription.updated', { user_id: 'dora', plan: 'enterprise' } as never, {
        broadcast: true,
      })
      await new Promise((r) => setTimeout(r, 10))
      expect(await flags.evaluate('pro_only', 'dora')).toMatchObject({ is_enabled: true, reason: 'plan' })
      expect(calls).toBe(1)
    } finally {
      flags.setPlanResolver(undefined)
    }
  })

  it('serves isEnabled to other plugins, false for an unknown flag', async () => {
    expect(await flags.isEnabled('on', 'anyone')).toBe(true)
    expect(await flags.isEnabled('vip', { id: 'alice' })).toBe(true)
    expect(await flags.evaluate('missing', 'alice')).toEqual({
      flag_key: 'missing',
      is_enabled: false,
      reason: 'not_found',
    })
  })

  it('gives the caller every flag evaluated for them', async () => {
    const res = await t.as('alice').get('/api/v1/app/feature-flags')
    expect(res.status).toBe(200)
    expect(res.body.flags).toMatchObject({
      off: false,
      on: true,
      vip: true,
      pro_only: false,
      promo: true,
      plain: false,
    })
    expect(typeof res.body.flags.half).toBe('boolean')
    expect(res.body.evaluations.find((e: { flag_key: string }) => e.flag_key === 'vip')).toEqual({
      flag_key: 'vip',
      is_enabled: true,
      reason: 'user_list',
    })
    const bob = await t.as('bob').get('/api/v2/app/feature-flags')
    expect(bob.body.data.flags.vip).toBe(false)
    expect(bob.body.meta.version).toBe('v2')
    const one = await t.as('alice').get('/api/v1/app/feature-flags/vip')
    expect(one.body).toEqual({ flag_key: 'vip', is_enabled: true, reason: 'user_list' })
    expect((await t.as('alice').get('/api/v1/app/feature-flags/unknown')).body.reason).toBe('not_found')
  })

  it('answers the same for a user on every call', async () => {
    const answers = new Set<string>()
    for (let i = 0; i < 5; i++)
      answers.add(JSON.stringify((await t.as('carol').get('/api/v1/app/feature-flags')).body.flags))
    expect(answers.size).toBe(1)
  })

  it('contributes a feature_flags section to the dashboard stats', async () => {
    const { feature_flags } = await t.app.service(statsProbe).collect()
    expect(feature_flags).toEqual({
      total: 8,
      enabled: 6,
      expired: 0,
      by_type: { boolean: 4, percentage: 2, user_list: 1, plan_based: 1 },
    })
  })
})

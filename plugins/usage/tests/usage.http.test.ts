import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import type { TestApp } from '../../../core/testing/index.ts'
import type { UsageService } from '../index.ts'
import { at, clock, statsOf, usageApp } from './support.ts'

const c = clock('2026-01-30T12:00:00Z')
let t: TestApp
let usage: UsageService

beforeAll(async () => {
  ;({ t, usage } = await usageApp(c))
})
afterAll(() => t?.close())

describe('metering', () => {
  it('counts exactly 500 of 500 concurrent requests after a flush', async () => {
    const client = t.as('burst-user')
    const results = await Promise.all(Array.from({ length: 500 }, () => client.get('/api/v1/app/usage/metrics')))
    expect(results.every((r) => r.status === 200)).toBe(true)
    expect(usage.pending).toBeGreaterThanOrEqual(500)
    await usage.flush()
    expect(usage.pending).toBe(0)
    const [row] = await t.app.db.sql<{ n: number; rows: number }[]>`
      select sum(value)::float8 as n, count(*)::int as rows from usage_daily where user_id = 'burst-user' and metric = 'api_requests'`
    expect(row!.n).toBe(500)
    // Summed in memory: one roll-up row (user, metric, day, {version: v1}), not 500.
    expect(row!.rows).toBe(1)
  })

  it('counts an event with a retried idempotency id once, within a batch and across flushes', async () => {
    const e = {
      userId: 'idem-user',
      metric: 'ai_tokens',
      value: 100,
      dimensions: { model: 'gpt-4o' },
      id: 'req-42',
      at: c.now(),
    }
    usage.record(e)
    usage.record(e)
    await usage.flush()
    usage.record(e)
    usage.record({ ...e, id: 'req-43' })
    await usage.flush()
    const res = await t.as('idem-user').get('/api/v1/app/usage/current-period')
    expect(res.body.ai_tokens).toBe(200)
  })

  it('stores dimensions PostgreSQL would refuse (NUL, lone surrogates) without failing the batch', async () => {
    usage.record({
      userId: 'odd-user',
      metric: 'websocket_messages',
      value: 1,
      dimensions: { direction: 'in', type: 'a\u0000b\ud800' },
      at: c.now(),
    })
    usage.record({
      userId: 'odd-user',
      metric: 'websocket_messages',
      value: 1,
      dimensions: { 'ty\u0000pe': '\udc00' },
      at: c.now(),
    })
    await usage.flush()
    expect(usage.pending).toBe(0)
    expect((await t.as('odd-user').get('/api/v1/app/usage/current-period')).body.websocket_messages).toBe(2)
  })

  it('answers client input it cannot use with 4xx, never 500', async () => {
    const admin = { sub: 'input-admin', email: 'input-admin@example.com' }
    await t.app.db
      .sql`insert into users (id, email, role) values ('input-admin', 'input-admin@example.com', 'admin') on conflict (id) do update set role = 'admin'`
    for (const path of [
      '/api/v1/admin/usage/summary/%00',
      '/api/v1/admin/usage/summary/a%00b',
      `/api/v1/admin/usage/summary/${'x'.repeat(300)}`,
      '/api/v1/admin/usage/top-users?limit=abc',
      '/api/v1/admin/usage/top-users?limit=1.5',
      '/api/v1/app/usage/daily?metric=api_requests&days=abc',
      '/api/v1/app/usage/breakdown?metric=ai_tokens&dimension=%00',
      '/api/v1/app/usage/summary?metric=%00',
    ]) {
      const res = await t.as(admin).get(path)
      expect([path, res.status]).toEqual([path, 422])
    }
  })

  it('keeps a failed write in the buffer and writes it later', async () => {
    await t.app.db.sql`alter table usage_daily rename to usage_daily_away`
    try {
      const before = usage.pending
      at(usage, 'retry-user', 'email_sent', 3, '2026-01-30T10:00:00Z')
      await usage.flush()
      expect(usage.pending).toBe(before + 1)
    } finally {
      await t.app.db.sql`alter table usage_daily_away rename to usage_daily`
    }
    await usage.flush()
    expect(usage.pending).toBe(0)
    expect((await t.as('retry-user').get('/api/v1/app/usage/current-period')).body.email_sent).toBe(3)
  })
})

describe('usage endpoints', () => {
  beforeAll(async () => {
    // alice: January (current) and December (previous) usage.
    at(usage, 'alice', 'ai_tokens', 25_000, '2026-01-15T09:00:00Z', { model: 'gpt-4o' })
    at(usage, 'alice', 'ai_tokens', 15_000, '2026-01-20T09:00:00Z', { model: 'gpt-4o-mini' })
    at(usage, 'alice', 'ai_tokens', 5_000, '2026-01-29T23:59:59Z', {
      model: 'claude-sonnet-4-5',
      provider: 'anthropic',
    })
    at(usage, 'alice', 'ai_tokens', 32_000, '2025-12-31T23:59:59Z', { model: 'gpt-4o' })
    at(usage, 'alice', 'api_requests', 980, '2025-12-10T00:00:00Z', { version: 'v1' })
    at(usage, 'alice', 'api_requests', 1250, '2026-01-01T00:00:00Z', { version: 'v1' })
    at(usage, 'alice', 'storage_bytes', 1000, '2026-01-02T00:00:00Z')
    at(usage, 'bob', 'ai_tokens', 999, '2026-01-30T01:00:00Z', { model: 'gpt-4o' })
    await usage.flush()
  })

  it('summarises the calendar month against the previous one', async () => {
    const res = await t.as('alice').get('/api/v1/app/usage/summary')
    expect(res.status).toBe(200)
    expect(res.body.period).toEqual({ start: '2026-01-01T00:00:00Z', end: '2026-01-31T23:59:59Z' })
    expect(Object.keys(res.body.metrics)).toHaveLength(9)
    expect(res.body.metrics.ai_tokens).toEqual({
      current_period: 45_000,
      previous_period: 32_000,
      growth_rate: 40.63,
      daily_average: 1500,
    })
    expect(res.body.metrics.api_requests).toEqual({
      current_period: 1250,
      previous_period: 980,
      growth_rate: 27.55,
      daily_average: 41.67,
    })
    // growth_rate is always a number: 100 when only the previous period is 0, 0 when both are
    expect(res.body.metrics.storage_bytes).toMatchObject({ current_period: 1000, previous_period: 0, growth_rate: 100 })
    expect(res.body.metrics.email_sent).toEqual({
      current_period: 0,
      previous_period: 0,
      growth_rate: 0,
      daily_average: 0,
    })
    for (const m of Object.values(res.body.metrics) as { growth_rate: unknown }[])
      expect(typeof m.growth_rate).toBe('number')
  })

  it('filters the summary by metric and refuses an unknown one with 422', async () => {
    const one = await t.as('alice').get('/api/v1/app/usage/summary?metric=ai_tokens')
    expect(Object.keys(one.body.metrics)).toEqual(['ai_tokens'])
    for (const path of [
      'summary?metric=bogus',
      'trends?metric=bogus',
      'daily?metric=bogus',
      'breakdown?metric=bogus',
      'trends',
      'daily',
    ]) {
      const res = await t.as('alice').get(`/api/v1/app/usage/${path}`)
      expect(res.status).toBe(422)
      expect(res.body.error.code).toBe('VALIDATION_ERROR')
      expect(res.body.error.details.field).toBe('metric')
    }
  })

  it('answers the current period with all nine metrics', async () => {
    const res = await t.as('alice').get('/api/v1/app/usage/current-period')
    expect(res.body).toEqual({
      api_requests: 1250,
      ai_tokens: 45_000,
      ai_requests: 0,
      storage_bytes: 1000,
      file_uploads: 0,
      file_downloads: 0,
      websocket_messages: 0,
      background_jobs: 0,
      email_sent: 0,
      period: { start: '2026-01-01T00:00:00Z', end: '2026-01-31T23:59:59Z' },
    })
  })

  it('zero-fills every day of the daily series, oldest first, max 90 days', async () => {
    const res = await t.as('alice').get('/api/v1/app/usage/daily?metric=ai_tokens&days=7')
    expect(res.status).toBe(200)
    expect(res.body.data).toEqual([
      { date: '2026-01-24', value: 0 },
      { date: '2026-01-25', value: 0 },
      { date: '2026-01-26', value: 0 },
      { date: '2026-01-27', value: 0 },
      { date: '2026-01-28', value: 0 },
      { date: '2026-01-29', value: 5000 },
      { date: '2026-01-30', value: 0 },
    ])
    expect(res.body.total).toBe(5000)
    expect(res.body.average).toBe(714.29)
    const month = await t.as('alice').get('/api/v1/app/usage/daily?metric=ai_tokens')
    expect(month.body.data).toHaveLength(30)
    expect(month.body.data[0].date).toBe('2026-01-01')
    expect((await t.as('alice').get('/api/v1/app/usage/daily?metric=ai_tokens&days=90')).body.data).toHaveLength(90)
    expect((await t.as('alice').get('/api/v1/app/usage/daily?metric=ai_tokens&days=91')).status).toBe(422)
    expect((await t.as('alice').get('/api/v1/app/usage/daily?metric=ai_tokens&days=0')).status).toBe(422)
  })

  it('analyses trends over a rolling window with its peak day', async () => {
    const res = await t.as('alice').get('/api/v1/app/usage/trends?metric=ai_tokens&days=30')
    expect(res.body).toEqual({
      metric: 'ai_tokens',
      current_period: 45_000,
      previous_period: 32_000,
      growth_rate: 40.63,
      daily_average: 1500,
      peak_day: '2026-01-15',
      peak_value: 25_000,
      trend: 'increasing',
    })
    const quiet = await t.as('alice').get('/api/v1/app/usage/trends?metric=email_sent')
    expect(quiet.body).toMatchObject({
      current_period: 0,
      previous_period: 0,
      growth_rate: 0,
      peak_day: null,
      peak_value: 0,
      trend: 'stable',
    })
    const fresh = await t.as('alice').get('/api/v1/app/usage/trends?metric=storage_bytes&days=30')
    expect(fresh.body).toMatchObject({
      current_period: 1000,
      previous_period: 0,
      growth_rate: 100,
      trend: 'increasing',
    })
  })

  it('breaks the current period down by model, or by a named dimension', async () => {
    const res = await t.as('alice').get('/api/v1/app/usage/breakdown?metric=ai_tokens')
    expect(res.body).toEqual({
      metric: 'ai_tokens',
      dimension: 'model',
      breakdown: { 'gpt-4o': 25_000, 'gpt-4o-mini': 15_000, 'claude-sonnet-4-5': 5_000 },
      total: 45_000,
    })
    const byProvider = await t.as('alice').get('/api/v1/app/usage/breakdown?metric=ai_tokens&dimension=provider')
    expect(byProvider.body.breakdown).toEqual({ other: 40_000, anthropic: 5_000 })
  })

  it('lists the nine metrics with key, name, description and unit', async () => {
    const res = await t.as('alice').get('/api/v1/app/usage/metrics')
    expect(res.body.metrics.map((m: { key: string }) => m.key)).toEqual([
      'api_requests',
      'ai_tokens',
      'ai_requests',
      'storage_bytes',
      'file_uploads',
      'file_downloads',
      'websocket_messages',
      'background_jobs',
      'email_sent',
    ])
    expect(res.body.metrics[1]).toEqual({
      key: 'ai_tokens',
      name: 'AI Tokens',
      description: 'AI/LLM tokens consumed',
      unit: 'tokens',
    })
  })

  it('shows a user only their own usage', async () => {
    const bob = await t.as('bob').get('/api/v1/app/usage/current-period')
    expect(bob.body.ai_tokens).toBe(999)
    expect(bob.body.api_requests).toBe(0)
    const breakdown = await t.as('bob').get('/api/v1/app/usage/breakdown?metric=ai_tokens')
    expect(breakdown.body.breakdown).toEqual({ 'gpt-4o': 999 })
  })

  it('wraps v2 responses', async () => {
    const res = await t.as('alice').get('/api/v2/app/usage/summary?metric=ai_tokens')
    expect(res.body.data.metrics.ai_tokens.current_period).toBe(45_000)
    expect(res.body.meta.version).toBe('v2')
  })
})

describe('admin usage', () => {
  const admin = { sub: 'usage-admin', email: 'usage-admin@example.com' }
  beforeAll(async () => {
    await t.app.db
      .sql`insert into users (id, email, role) values ('usage-admin', 'usage-admin@example.com', 'admin') on conflict (id) do update set role = 'admin'`
    await t.as('alice').get('/api/v1/app/usage/metrics')
    await t.as('bob').get('/api/v1/app/usage/metrics')
    at(usage, 'carol', 'ai_tokens', 999, '2026-01-02T00:00:00Z')
    at(usage, 'dave', 'ai_tokens', 10, '2025-12-31T23:00:00Z')
    await usage.flush()
  })

  it('ranks top users of the current period, highest first, id as tie-break', async () => {
    const res = await t.as(admin).get('/api/v1/admin/usage/top-users?metric=ai_tokens&limit=10')
    expect(res.status).toBe(200)
    expect(res.body.metric).toBe('ai_tokens')
    expect(res.body.users).toEqual([
      { user_id: 'alice', email: 'alice@example.com', value: 45_000 },
      { user_id: 'bob', email: 'bob@example.com', value: 999 },
      { user_id: 'carol', email: null, value: 999 },
      { user_id: 'idem-user', email: 'idem-user@example.com', value: 200 },
    ])
    expect(res.body.period.start).toBe('2026-01-01T00:00:00Z')
    const limited = await t.as(admin).get('/api/v1/admin/usage/top-users?metric=ai_tokens&limit=1')
    expect(limited.body.users.map((u: { user_id: string }) => u.user_id)).toEqual(['alice'])
    const byDefault = await t.as(admin).get('/api/v1/admin/usage/top-users')
    expect(byDefault.body.metric).toBe('api_requests')
    expect((await t.as(admin).get('/api/v1/admin/usage/top-users?limit=101')).status).toBe(422)
    expect((await t.as(admin).get('/api/v1/admin/usage/top-users?metric=nope')).status).toBe(422)
  })

  it("reads a user's summary, 404 for an unknown user", async () => {
    const res = await t.as(admin).get('/api/v1/admin/usage/summary/alice?metric=ai_tokens')
    expect(res.body.metrics.ai_tokens.current_period).toBe(45_000)
    const all = await t.as(admin).get('/api/v1/admin/usage/summary/alice')
    expect(all.body.metrics.storage_bytes.growth_rate).toBe(100)
    expect(all.body.metrics.email_sent.growth_rate).toBe(0)
    const missing = await t.as(admin).get('/api/v1/admin/usage/summary/nobody')
    expect(missing.status).toBe(404)
    expect(missing.body.error.code).toBe('NOT_FOUND')
  })

  it('refuses non-admins with 403', async () => {
    const res = await t.as('alice').get('/api/v1/admin/usage/top-users')
    expect(res.status).toBe(403)
    expect((await t.as('alice').get('/api/v1/admin/usage/summary/bob')).status).toBe(403)
  })

  it('contributes a usage section to the dashboard stats', async () => {
    const { usage: section } = await statsOf(t)
    expect(section).toMatchObject({ current_period: { ai_tokens: 45_000 + 999 + 999 + 200, api_requests: 1250 } })
    expect(section!.active_users_current_period).toBeGreaterThanOrEqual(1)
  })
})

describe('period boundaries (injected clock)', () => {
  it('switches period at the first second of the month, across a year end', async () => {
    c.set('2026-01-31T23:59:59Z')
    expect((await t.as('alice').get('/api/v1/app/usage/summary?metric=ai_tokens')).body).toEqual({
      metrics: {
        ai_tokens: { current_period: 45_000, previous_period: 32_000, growth_rate: 40.63, daily_average: 1451.61 },
      },
      period: { start: '2026-01-01T00:00:00Z', end: '2026-01-31T23:59:59Z' },
    })
    c.set('2026-02-01T00:00:00Z')
    expect((await t.as('alice').get('/api/v1/app/usage/summary?metric=ai_tokens')).body).toEqual({
      metrics: { ai_tokens: { current_period: 0, previous_period: 45_000, growth_rate: -100, daily_average: 0 } },
      period: { start: '2026-02-01T00:00:00Z', end: '2026-02-28T23:59:59Z' },
    })
    c.set('2026-01-01T00:00:00Z')
    const jan1 = await t.as('alice').get('/api/v1/app/usage/summary?metric=api_requests')
    expect(jan1.body.metrics.api_requests).toEqual({
      current_period: 1250,
      previous_period: 980,
      growth_rate: 27.55,
      daily_average: 1250,
    })
    expect(jan1.body.period.start).toBe('2026-01-01T00:00:00Z')
    c.set('2025-12-31T23:59:59Z')
    const dec31 = await t.as('alice').get('/api/v1/app/usage/current-period')
    expect(dec31.body.ai_tokens).toBe(32_000)
    expect(dec31.body.period).toEqual({ start: '2025-12-01T00:00:00Z', end: '2025-12-31T23:59:59Z' })
  })

  it('ends February on the 29th in a leap year', async () => {
    c.set('2028-02-10T08:00:00Z')
    expect((await t.as('alice').get('/api/v1/app/usage/current-period')).body.period).toEqual({
      start: '2028-02-01T00:00:00Z',
      end: '2028-02-29T23:59:59Z',
    })
    c.set('2026-01-30T12:00:00Z')
  })
})

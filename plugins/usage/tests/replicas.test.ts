/** Two replicas metering into one database: concurrent flushes add up, and an event id retried on the other replica counts once. */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { CORE_MIGRATIONS, createApp, type App } from '../../../core/index.ts'
import { createTestDatabase, type TestDatabase } from '../../../core/testing/database.ts'
import { clientFor, signTestToken, TEST_JWT_SECRET } from '../../../core/testing/index.ts'
import { createUsagePlugin } from '../index.ts'

const plugin = createUsagePlugin()
let db: TestDatabase
let a: App
let b: App

beforeAll(async () => {
  db = await createTestDatabase({ migrations: [CORE_MIGRATIONS, { namespace: plugin.name, dir: plugin.migrations! }] })
  const make = () =>
    createApp({
      plugins: [plugin],
      database: db,
      workers: false,
      env: {
        AUTH_JWT_SECRET: TEST_JWT_SECRET,
        LOG_LEVEL: 'error',
        RATE_LIMIT_DEFAULT: '100000/minute',
        USAGE_FLUSH_INTERVAL_MS: '600000',
      },
    })
  a = await make()
  b = await make()
})
afterAll(async () => {
  await a?.stop()
  await b?.stop()
  await db?.close()
})

const usageOf = (app: App) => app.service(plugin)
const total = async (user: string, metric: string) =>
  (
    await db.sql<
      { n: number }[]
    >`select coalesce(sum(value), 0)::float8 as n from usage_daily where user_id = ${user} and metric = ${metric}`
  )[0]!.n

describe('usage on two replicas', () => {
  it('adds up requests metered on both replicas and flushed at the same time', async () => {
    const token = () => signTestToken('shared-user')
    const ca = clientFor(a, token)
    const cb = clientFor(b, token)
    const res = await Promise.all(
      Array.from({ length: 400 }, (_, i) => (i % 2 ? ca : cb).get('/api/v1/app/usage/metrics')),
    )
    expect(res.every((r) => r.status === 200)).toBe(true)
    await Promise.all([usageOf(a).flush(), usageOf(b).flush()])
    expect(await total('shared-user', 'api_requests')).toBe(400)
  })

  it('counts an event retried on the other replica once', async () => {
    const e = {
      userId: 'retry-user',
      metric: 'ai_tokens',
      value: 37,
      dimensions: { model: 'gpt-4o' },
      id: 'completion-123',
    }
    usageOf(a).record(e)
    usageOf(b).record(e)
    await Promise.all([usageOf(a).flush(), usageOf(b).flush()])
    usageOf(b).record(e)
    await usageOf(b).flush()
    expect(await total('retry-user', 'ai_tokens')).toBe(37)
  })
})

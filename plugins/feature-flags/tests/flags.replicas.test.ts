/** Two app instances on one database: the same answers everywhere, and (with Redis) a change on one reaches the other within 1 s. */
import { afterAll, describe, expect, it } from 'bun:test'
import { CORE_MIGRATIONS, createApp, type App } from '../../../core/index.ts'
import { createTestDatabase, type TestDatabase } from '../../../core/testing/database.ts'
import { clientFor, signTestToken, TEST_JWT_SECRET, type Client } from '../../../core/testing/index.ts'
import { createFeatureFlagsPlugin } from '../index.ts'

const redisUrl = process.env.TEST_REDIS_URL
const admin = { sub: 'replica-admin', email: 'replica-admin@example.com' }
const opened: { db: TestDatabase; apps: App[] }[] = []

afterAll(async () => {
  for (const { db, apps } of opened) {
    for (const app of apps) await app.stop()
    await db.close()
  }
})

/** Two replicas sharing a fresh database (and Redis when given); the periodic reload is off. */
async function replicas(env: Record<string, string> = {}) {
  const plugin = createFeatureFlagsPlugin()
  const db = await createTestDatabase({
    migrations: [CORE_MIGRATIONS, { namespace: plugin.name, dir: plugin.migrations! }],
  })
  const entry = { db, apps: [] as App[] }
  opened.push(entry)
  const make = () =>
    createApp({
      plugins: [plugin],
      database: db,
      workers: false,
      env: {
        AUTH_JWT_SECRET: TEST_JWT_SECRET,
        LOG_LEVEL: 'error',
        ADMIN_EMAILS: admin.email,
        RATE_LIMIT_DEFAULT: '100000/minute',
        FEATURE_FLAGS_REFRESH_MS: '0',
        ...env,
      },
    })
  const a = await make()
  const b = await make()
  entry.apps.push(a, b)
  const as = (app: App, user: string | typeof admin) => clientFor(app, () => signTestToken(user))
  return { plugin, a, b, as }
}

async function until(check: () => Promise<boolean>, timeoutMs: number) {
  const started = Date.now()
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) return -1
    await new Promise((r) => setTimeout(r, 10))
  }
  return Date.now() - started
}

describe('feature flags on two instances', () => {
  it('gives a user the same rollout answer on both instances', async () => {
    const { plugin, a, b, as } = await replicas()
    expect(
      (
        await as(a, admin).post('/api/v1/admin/feature-flags', {
          key: 'rollout',
          name: 'Rollout',
          flag_type: 'percentage',
          percentage: 25,
          is_enabled: true,
        })
      ).status,
    ).toBe(201)
    await b.service(plugin).reload()
    const users = Array.from({ length: 60 }, (_, i) => `stable_${i}`)
    const read = (app: App, user: string) =>
      as(app, user)
        .get('/api/v1/app/feature-flags')
        .then((r) => r.body.flags.rollout as boolean)
    const onA = await Promise.all(users.map((u) => read(a, u)))
    const onB = await Promise.all(users.map((u) => read(b, u)))
    expect(onB).toEqual(onA)
    expect(onA.some(Boolean)).toBe(true)
    expect(onA.every(Boolean)).toBe(false)
    expect(await Promise.all(users.map((u) => read(a, u)))).toEqual(onA)
  })

  describe.skipIf(!redisUrl)('sharing Redis', () => {
    it('invalidates the other instance within 1 s of a change', async () => {
      const { a, b, as } = await replicas({ REDIS_URL: redisUrl! })
      const adminA: Client = as(a, admin)
      const onB = (key: string) =>
        as(b, 'watcher')
          .get('/api/v1/app/feature-flags')
          .then((r) => r.body.flags[key] as boolean | undefined)
      // Redis subscriptions connect in the background: wait until a broadcast from A reaches B.
      let crossed = false
      const off = b.events.subscribe('feature_flag.changed', (payload) => {
        if ((payload as { id?: string }).id === 'warm-up') crossed = true
      })
      const warm = await until(async () => {
        await a.events.publish(
          'feature_flag.changed',
          { id: 'warm-up', key: 'warm-up', action: 'update' },
          { broadcast: true },
        )
        await new Promise((r) => setTimeout(r, 50))
        return crossed
      }, 10_000)
      off()
      expect(warm).toBeGreaterThanOrEqual(0)
      expect(await onB('live')).toBeUndefined()

      const created = await adminA.post('/api/v1/admin/feature-flags', { key: 'live', name: 'Live', is_enabled: true })
      expect(created.status).toBe(201)
      const seen = await until(async () => (await onB('live')) === true, 1000)
      expect(seen).toBeGreaterThanOrEqual(0)

      await adminA.patch('/api/v1/admin/feature-flags/live', { is_enabled: false })
      expect(await until(async () => (await onB('live')) === false, 1000)).toBeGreaterThanOrEqual(0)

      await adminA.delete('/api/v1/admin/feature-flags/live')
      expect(await until(async () => (await onB('live')) === undefined, 1000)).toBeGreaterThanOrEqual(0)
    })
  })
})

/**
 * A database outage is a quick, honest 503 (docs/security.md#dependency-failures): a private
 * PostgreSQL is stopped under load and started again; no request may answer 500 or hang, each
 * answers within about 2 s, and the app recovers without a restart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { definePlugin } from '../../plugin/index.ts'
import { freePort, sleep } from '../../testing/services.ts'
import { postgresBinDir, startPostgres, type PrivatePostgres } from '../../testing/postgres-server.ts'
import { clientFor, signTestToken, TEST_JWT_SECRET, type Client } from '../../testing/index.ts'
import { createApp, CORE_MIGRATIONS, type App } from '../../app/create-app.ts'
import { migrate, openDatabase, type Database } from '../index.ts'

const probe = definePlugin({
  name: 'test-db-probe',
  setup: ({ sql }) => ({
    routes: {
      app: ({ router }) =>
        router('/probe').get('/db', async () => {
          const [row] = await sql`select 1 as one`
          return { one: row!.one }
        }),
    },
  }),
})

const available = postgresBinDir() !== undefined

describe.skipIf(!available)('database outage', () => {
  let pg: PrivatePostgres
  let db: Database
  let app: App
  let t: Client & { as(user: string): Client }

  beforeAll(async () => {
    pg = startPostgres(await freePort())
    db = await openDatabase({ url: pg.url, max: 4, connectTimeoutMs: 1000 })
    await migrate(db.sql, [CORE_MIGRATIONS])
    app = await createApp({
      plugins: [probe],
      database: db,
      workers: false,
      env: { AUTH_JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'error' },
    })
    t = { ...clientFor(app), as: (user) => clientFor(app, () => signTestToken(user)) }
  }, 60_000)

  afterAll(async () => {
    await app?.stop()
    await db?.close()
    pg?.destroy()
  }, 30_000)

  it('answers 503 with Retry-After within about 2 s while the database is down, and recovers', async () => {
    expect((await t.as('alice').get('/api/v1/app/probe/db')).status).toBe(200)
    pg.stop()
    const timings: { status: number; ms: number; code?: string; retryAfter?: string | null }[] = []
    const started = Date.now()
    while (Date.now() - started < 4_000) {
      // 16 at a time, half of them users never seen before (their provisioning needs the database).
      const batch = Array.from({ length: 16 }, (_, i) => (i % 2 ? 'alice' : `new-${timings.length}-${i}`)).map(
        async (user) => {
          const t0 = Date.now()
          const res = await t.as(user).get('/api/v1/app/probe/db')
          timings.push({
            status: res.status,
            ms: Date.now() - t0,
            code: res.body?.error?.code,
            retryAfter: res.headers.get('retry-after'),
          })
        },
      )
      await Promise.all(batch)
    }
    expect(timings.length).toBeGreaterThan(2)
    for (const r of timings) {
      expect(r.status).toBe(503)
      expect(r.code).toBe('SERVICE_UNAVAILABLE')
      expect(r.retryAfter).toMatch(/^\d+$/)
      expect(r.ms).toBeLessThan(2_500)
    }
    const ready = await t.get('/api/v1/public/health/ready')
    expect(ready.status).toBe(503)
    expect(ready.body.components.database).toEqual({ status: 'unhealthy', driver: 'postgres', reason: 'unreachable' })
    expect(JSON.stringify(ready.body)).not.toContain('ECONNREFUSED')
    pg.start()
    let recovered = false
    for (let i = 0; i < 100 && !recovered; i++) {
      recovered = (await t.as('carol').get('/api/v1/app/probe/db')).status === 200
      if (!recovered) await sleep(100)
    }
    expect(recovered).toBe(true)
    expect((await t.get('/api/v1/public/health/ready')).status).toBe(200)
  }, 60_000)
})

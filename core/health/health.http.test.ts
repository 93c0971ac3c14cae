import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { testApp, type TestApp } from '../testing/index.ts'

describe('health', () => {
  let t: TestApp
  beforeAll(async () => {
    // Nothing listens on port 1: the cache component must report unhealthy.
    t = await testApp({ env: { REDIS_URL: 'redis://127.0.0.1:1' } })
  })
  afterAll(() => t?.close())

  it('answers liveness in the seed shape', async () => {
    const res = await t.get('/api/v1/public/health')
    expect(res.status).toBe(200)
    expect(res.body.status).toBe('healthy')
    expect(new Date(res.body.timestamp).toISOString()).toBe(res.body.timestamp)
  })

  it('answers 503 naming the failing component, with the database still healthy', async () => {
    const res = await t.get('/api/v1/public/health/ready')
    expect(res.status).toBe(503)
    expect(res.body.status).toBe('unhealthy')
    expect(res.body.components.database).toEqual({ status: 'healthy', driver: t.app.db.kind })
    // A stable reason, never the driver's text (readiness is public).
    expect(res.body.components.cache).toEqual({ status: 'unhealthy', driver: 'redis', reason: 'unreachable' })
  })

  it('lists the in-process cache as healthy without REDIS_URL', async () => {
    const app = await testApp()
    const res = await app.get('/api/v1/public/health/ready')
    expect(res.status).toBe(200)
    expect(res.body.components).toEqual({
      database: { status: 'healthy', driver: app.app.db.kind },
      cache: { status: 'healthy', driver: 'memory' },
    })
    await app.close()
  })

  it('reports a database that stops answering', async () => {
    const app = await testApp()
    await app.app.db.close()
    const res = await app.get('/api/v2/public/health/ready')
    expect(res.status).toBe(503)
    expect(res.body.data.components.database.status).toBe('unhealthy')
    expect(['unreachable', 'error', 'timeout']).toContain(res.body.data.components.database.reason)
    await app.app.stop()
  })
})

describe('health with redis', () => {
  const url = process.env.TEST_REDIS_URL
  it.skipIf(!url)('includes a healthy cache component', async () => {
    const t = await testApp({ env: { REDIS_URL: url! } })
    const res = await t.get('/api/v1/public/health/ready')
    expect(res.status).toBe(200)
    expect(res.body.components).toEqual({
      database: { status: 'healthy', driver: t.app.db.kind },
      cache: { status: 'healthy', driver: 'redis' },
    })
    await t.close()
  })
})

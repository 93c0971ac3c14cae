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
    expect(res.body.components.database).toEqual({ status: 'healthy' })
    expect(res.body.components.cache.status).toBe('unhealthy')
  })

  it('reports a database that stops answering', async () => {
    const app = await testApp()
    await app.app.db.close()
    const res = await app.get('/api/v2/public/health/ready')
    expect(res.status).toBe(503)
    expect(res.body.data.components.database.status).toBe('unhealthy')
    await app.app.stop()
  })
})

describe('health with redis', () => {
  const url = process.env.TEST_REDIS_URL
  it.skipIf(!url)('includes a healthy cache component', async () => {
    const t = await testApp({ env: { REDIS_URL: url! } })
    const res = await t.get('/api/v1/public/health/ready')
    expect(res.status).toBe(200)
    expect(res.body.components).toEqual({ database: { status: 'healthy' }, cache: { status: 'healthy' } })
    await t.close()
  })
})

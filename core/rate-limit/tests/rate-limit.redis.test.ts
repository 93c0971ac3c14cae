/** Rate limits shared through Redis by two app instances, and the fallback during an outage. */
import { afterAll, describe, expect, it } from 'bun:test'
import Redis from 'ioredis'
import { testApp, type TestApp } from '../../testing/index.ts'
import { createEchoPlugin } from '../../testing/fixtures/echo-plugin.ts'
import { freePort, startRedis } from '../../testing/services.ts'

const url = process.env.TEST_REDIS_URL
const randomIp = () =>
  `10.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`

describe.skipIf(!url)('rate limits on Redis', () => {
  const apps: TestApp[] = []
  afterAll(async () => {
    for (const a of apps) await a.close()
  })

  it('two instances sharing Redis admit exactly the limit under 200 concurrent requests', async () => {
    const env = { REDIS_URL: url!, RATE_LIMIT_DEFAULT: '50/minute' }
    const a = await testApp({ plugins: [createEchoPlugin().plugin], env })
    const b = await testApp({ plugins: [createEchoPlugin().plugin], env })
    apps.push(a, b)
    const ip = randomIp()
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => (i % 2 ? a : b).get('/api/v1/public/echo/ping', { ip })),
    )
    const ok = results.filter((r) => r.status === 200).length
    const limited = results.filter((r) => r.status === 429)
    expect(ok).toBe(50)
    expect(limited.length).toBe(150)
    expect(limited[0]!.headers.get('retry-after')).toBeTruthy()
    const redis = new Redis(url!)
    expect(await redis.get(`omnistack:rl:default:ip:${ip}`)).toBe('200')
    await redis.del(`omnistack:rl:default:ip:${ip}`)
    redis.disconnect()
  })
})

describe('rate limits when Redis goes away', () => {
  it('keeps serving from in-process counters and goes back to Redis when it returns', async () => {
    const port = await freePort()
    let redis = await startRedis(port)
    const t = await testApp({
      plugins: [createEchoPlugin().plugin],
      env: { REDIS_URL: `redis://127.0.0.1:${port}`, RATE_LIMIT_DEFAULT: '1000/minute' },
    })
    const ip = randomIp()
    const client = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 1 })
    client.on('error', () => {})
    try {
      expect((await t.get('/api/v1/public/echo/ping', { ip })).status).toBe(200)
      await client.connect()
      expect(await client.get(`omnistack:rl:default:ip:${ip}`)).toBe('1')
      client.disconnect()

      redis.kill('SIGKILL')
      await redis.exited
      for (let i = 0; i < 5; i++) {
        const res = await t.get('/api/v1/public/echo/ping', { ip })
        expect(res.status).toBe(200)
        expect(res.headers.get('x-ratelimit-limit')).toBe('1000')
      }

      redis = await startRedis(port)
      // The store retries Redis about a second after its last failure.
      await Bun.sleep(1500)
      for (let i = 0; i < 3; i++) expect((await t.get('/api/v1/public/echo/ping', { ip })).status).toBe(200)
      const back = new Redis({ port, maxRetriesPerRequest: 1 })
      const count = Number(await back.get(`omnistack:rl:default:ip:${ip}`))
      back.disconnect()
      expect(count).toBeGreaterThanOrEqual(1)
      expect(count).toBeLessThanOrEqual(3)
    } finally {
      await t.close()
      redis.kill('SIGKILL')
    }
  }, 30_000)
})

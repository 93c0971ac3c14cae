import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { Redis } from 'ioredis'
import { captureLogs, freePort, sleep, startRedis, until } from '../testing/services.ts'
import { parseRate } from './rate.ts'
import { createRedisStore } from './store-redis.ts'
import type { RateLimitStore } from './types.ts'

const SHARED_URL = 'redis://127.0.0.1:6379'
const run = crypto.randomUUID().slice(0, 8)

describe('redis rate-limit store (shared Redis)', () => {
  const prefix = `test:rl:${run}:`
  const stores: RateLimitStore[] = []
  let admin: Redis

  beforeAll(() => {
    admin = new Redis(SHARED_URL)
  })
  afterAll(async () => {
    const keys = await admin.keys(`${prefix}*`)
    if (keys.length) await admin.del(...keys)
    await Promise.all(stores.map((s) => s.close()))
    await admin.quit()
  })

  it('admits exactly the limit across two replicas hitting concurrently', async () => {
    const a = createRedisStore({ url: SHARED_URL, logger: captureLogs().logger, prefix })
    const b = createRedisStore({ url: SHARED_URL, logger: captureLogs().logger, prefix })
    stores.push(a, b)
    const rule = parseRate('50/minute')
    const hits = Array.from({ length: 200 }, (_, i) => (i % 2 ? a : b).hit('user:1', rule))
    const results = await Promise.all(hits)
    expect(results.filter((r) => r.allowed)).toHaveLength(50)
    const refused = results.filter((r) => !r.allowed)
    expect(refused.every((r) => r.retryAfter >= 1 && r.retryAfter <= 60 && r.remaining === 0)).toBe(true)
    expect(await admin.get(`${prefix}user:1`)).toBe('200')
    const ttl = await admin.pttl(`${prefix}user:1`)
    expect(ttl).toBeGreaterThan(50_000)
    expect(ttl).toBeLessThanOrEqual(60_000)
  })

  it('reports remaining and reset, and peeks without counting', async () => {
    const s = createRedisStore({ url: SHARED_URL, logger: captureLogs().logger, prefix })
    stores.push(s)
    const rule = parseRate('3/minute')
    expect(await s.peek('peek', rule)).toMatchObject({ allowed: true, remaining: 3, retryAfter: 0 })
    const first = await s.hit('peek', rule)
    expect(first).toMatchObject({ allowed: true, limit: 3, remaining: 2, retryAfter: 0 })
    expect(first.reset).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000) + 59)
    expect(await s.peek('peek', rule)).toMatchObject({ allowed: true, remaining: 2 })
    await s.hit('peek', rule)
    await s.hit('peek', rule)
    expect(await s.peek('peek', rule)).toMatchObject({ allowed: false, remaining: 0 })
    expect(await admin.get(`${prefix}peek`)).toBe('3')
  })

  it('opens a new window when the key expires', async () => {
    const s = createRedisStore({ url: SHARED_URL, logger: captureLogs().logger, prefix })
    stores.push(s)
    const rule = parseRate('1/second')
    expect((await s.hit('short', rule)).allowed).toBe(true)
    expect((await s.hit('short', rule)).allowed).toBe(false)
    await sleep(1_100)
    expect((await s.hit('short', rule)).allowed).toBe(true)
  })
})

describe('redis rate-limit store during an outage (own redis-server)', () => {
  let port: number
  let proc: ReturnType<typeof Bun.spawn> | undefined
  let store: RateLimitStore | undefined
  let admin: Redis | undefined

  beforeAll(async () => {
    port = await freePort()
    proc = await startRedis(port)
  }, 15_000)
  afterAll(async () => {
    await store?.close()
    admin?.disconnect()
    proc?.kill('SIGKILL')
    await proc?.exited
  })

  it('keeps answering from in-process counters, logs once each way, and returns to Redis', async () => {
    const { logger, lines } = captureLogs()
    const url = `redis://127.0.0.1:${port}`
    store = createRedisStore({ url, logger, prefix: 'rl:' })
    admin = new Redis(url, { retryStrategy: () => 100 })
    admin.on('error', () => {})
    const rule = parseRate('100/minute')

    for (let i = 0; i < 3; i++) await store.hit('ip', rule)
    expect(await admin.get('rl:ip')).toBe('3')

    proc!.kill('SIGKILL')
    await proc!.exited
    const during = []
    for (let i = 0; i < 20; i++) {
      const started = performance.now()
      const r = await store.hit('ip', rule)
      expect(performance.now() - started).toBeLessThan(100)
      during.push(r)
      await sleep(20)
    }
    expect(during.every((r) => r.allowed)).toBe(true)
    // The fallback counts on its own: its window started with the outage.
    expect(during.at(-1)!.remaining).toBeGreaterThanOrEqual(100 - 20)
    expect(lines.filter((l) => l.level === 'WARN')).toHaveLength(1)
    expect(lines.find((l) => l.level === 'WARN')!.message).toContain('Redis unreachable')

    proc = await startRedis(port)
    await until(() => lines.some((l) => l.level === 'INFO' && l.message.includes('Redis is back')))
    await admin.ping()
    // The restarted server starts empty (no persistence): these hits are counted there.
    await store.hit('ip', rule)
    await store.hit('ip', rule)
    expect(await admin.get('rl:ip')).toBe('2')
    expect(lines.filter((l) => l.level === 'WARN')).toHaveLength(1)
    expect(lines.filter((l) => l.level === 'INFO')).toHaveLength(1)
  }, 30_000)

  it('does not make the first hits wait or fail when Redis is down from the start', async () => {
    const deadPort = await freePort()
    const { logger, lines } = captureLogs()
    const s = createRedisStore({ url: `redis://127.0.0.1:${deadPort}`, logger, prefix: 'rl:' })
    try {
      const started = performance.now()
      const results = await Promise.all([1, 2, 3].map(() => s.hit('k', parseRate('2/minute'))))
      expect(performance.now() - started).toBeLessThan(2_500)
      expect(results.map((r) => r.allowed)).toEqual([true, true, false])
      expect(lines.filter((l) => l.level === 'WARN')).toHaveLength(1)
    } finally {
      await s.close()
    }
  })
})

import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { Redis } from 'ioredis'
import { captureLogs, freePort, sleep, startRedis, until, type LogLine } from '../testing/services.ts'
import { createEventBus } from './bus.ts'
import type { EventBus, EventMeta } from './types.ts'

const SHARED_URL = 'redis://127.0.0.1:6379'
const run = crypto.randomUUID().slice(0, 8)

/** Subscribers the server counts on a channel: the moment every bus is listening. */
const subscribers = async (admin: Redis, channel: string) => {
  const reply = (await admin.call('PUBSUB', 'NUMSUB', channel)) as [string, number]
  return Number(reply[1])
}

/** Records what each replica's subscriber receives. */
function record(bus: EventBus, name: string) {
  const got: { payload: unknown; meta: EventMeta }[] = []
  bus.subscribe(name, (payload, meta) => void got.push({ payload, meta }))
  return got
}

describe('event bus across replicas (shared Redis)', () => {
  const channel = `test:events:${run}`
  let admin: Redis
  let a: EventBus
  let b: EventBus

  beforeAll(async () => {
    admin = new Redis(SHARED_URL)
    a = createEventBus({ redisUrl: SHARED_URL, logger: captureLogs().logger, channel, instanceId: 'a' })
    b = createEventBus({ redisUrl: SHARED_URL, logger: captureLogs().logger, channel, instanceId: 'b' })
    await until(async () => (await subscribers(admin, channel)) === 2)
  })
  afterAll(async () => {
    await a?.close()
    await b?.close()
    await admin?.quit()
  })

  it('delivers a broadcast event once to the subscribers of every replica, the publisher included', async () => {
    const onA = record(a, 'test.bridged')
    const onB = record(b, 'test.bridged')
    const onB2 = record(b, 'test.bridged')
    await a.publish('test.bridged', { id: 'p1' }, { broadcast: true })
    await b.publish('test.bridged', { id: 'p2' }, { broadcast: true })
    await sleep(200)
    // Each replica sees its own event at once and the other's a moment later: compare as sets.
    const ids = (got: typeof onA) => got.map((g) => (g.payload as { id: string }).id).sort()
    for (const got of [onA, onB, onB2]) expect(ids(got)).toEqual(['p1', 'p2'])
    const p1OnA = onA.find((g) => g.meta.origin === 'a')!
    const p1OnB = onB.find((g) => g.meta.origin === 'a')!
    expect(p1OnB.payload).toEqual({ id: 'p1' })
    expect(p1OnB.meta.id).toBe(p1OnA.meta.id)
    expect(onA.find((g) => g.meta.origin === 'b')!.payload).toEqual({ id: 'p2' })
  })

  it('keeps events without broadcast on their own replica', async () => {
    const onA = record(a, 'cache.local')
    const onB = record(b, 'cache.local')
    await a.publish('cache.local', { k: 1 })
    await sleep(200)
    expect(onA).toHaveLength(1)
    expect(onB).toHaveLength(0)
  })
})

describe('event bus during a Redis outage (own redis-server)', () => {
  const channel = `test:events:${run}:outage`
  let port: number
  let proc: ReturnType<typeof Bun.spawn> | undefined
  let admin: Redis | undefined
  const buses: EventBus[] = []

  beforeAll(async () => {
    port = await freePort()
    proc = await startRedis(port)
  }, 15_000)
  afterAll(async () => {
    await Promise.all(buses.map((x) => x.close()))
    admin?.disconnect()
    proc?.kill('SIGKILL')
    await proc?.exited
  })

  it('keeps local delivery while Redis is down and crosses replicas again after it restarts', async () => {
    const url = `redis://127.0.0.1:${port}`
    const logA = captureLogs()
    const logB = captureLogs()
    const a = createEventBus({ redisUrl: url, logger: logA.logger, channel, instanceId: 'a' })
    const b = createEventBus({ redisUrl: url, logger: logB.logger, channel, instanceId: 'b' })
    buses.push(a, b)
    admin = new Redis(url, { retryStrategy: () => 100 })
    admin.on('error', () => {})
    await until(async () => (await subscribers(admin!, channel)) === 2)
    const onA = record(a, 'user.changed')
    const onB = record(b, 'user.changed')

    await a.publish('user.changed', { id: 'before' }, { broadcast: true })
    await until(() => onB.length === 1)

    proc!.kill('SIGKILL')
    await proc!.exited
    const started = performance.now()
    await a.publish('user.changed', { id: 'during' }, { broadcast: true })
    expect(performance.now() - started).toBeLessThan(100)
    await sleep(300)
    expect(onA.map((g) => g.payload)).toEqual([{ id: 'before' }, { id: 'during' }])
    expect(onB.map((g) => g.payload)).toEqual([{ id: 'before' }])
    for (const { lines } of [logA, logB]) {
      expect(lines.filter((l) => l.level === 'WARN')).toHaveLength(1)
      expect(lines[0]!.message).toContain('Redis unreachable')
    }

    proc = await startRedis(port)
    const back = (lines: LogLine[]) => lines.some((l) => l.level === 'INFO' && l.message.includes('Redis is back'))
    await until(() => back(logA.lines) && back(logB.lines))
    // Both resubscribed on the new server (its count started at zero).
    expect(await subscribers(admin, channel)).toBe(2)

    await b.publish('user.changed', { id: 'after' }, { broadcast: true })
    await until(() => onA.length === 3)
    await sleep(200)
    expect(onA.map((g) => g.payload)).toEqual([{ id: 'before' }, { id: 'during' }, { id: 'after' }])
    expect(onB.map((g) => g.payload)).toEqual([{ id: 'before' }, { id: 'after' }])
    for (const { lines } of [logA, logB]) {
      expect(lines.filter((l) => l.level === 'WARN')).toHaveLength(1)
      expect(lines.filter((l) => l.level === 'INFO')).toHaveLength(1)
    }
  }, 30_000)

  it('starts with Redis down without failing, and joins when it appears', async () => {
    const deadPort = await freePort()
    const { logger, lines } = captureLogs()
    const bus = createEventBus({ redisUrl: `redis://127.0.0.1:${deadPort}`, logger, channel, instanceId: 'late' })
    buses.push(bus)
    const got = record(bus, 'user.changed')
    await bus.publish('user.changed', { id: 'alone' }, { broadcast: true })
    await sleep(50)
    expect(got).toHaveLength(1)
    expect(lines.filter((l) => l.level === 'WARN')).toHaveLength(1)

    const late = await startRedis(deadPort)
    const probe = new Redis(`redis://127.0.0.1:${deadPort}`)
    try {
      await until(() => lines.some((l) => l.level === 'INFO'))
      expect(await subscribers(probe, channel)).toBe(1)
      await probe.publish(
        channel,
        JSON.stringify({ v: 1, id: 'x', name: 'user.changed', origin: 'elsewhere', payload: { id: 'remote' } }),
      )
      await until(() => got.length === 2)
      expect(got[1]!.payload).toEqual({ id: 'remote' })
    } finally {
      await bus.close()
      probe.disconnect()
      late.kill('SIGKILL')
      await late.exited
    }
  }, 30_000)
})

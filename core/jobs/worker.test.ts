/** Job workers: two replicas on one database, restarts, crashed workers and schedules. */
import { afterEach, describe, expect, it } from 'bun:test'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openDatabase, type Database } from '../db/index.ts'
import { createTestDatabase, type TestDatabase } from '../testing/database.ts'
import { createJobQueue, type JobQueue } from './queue.ts'
import { latestTick, nextTick } from './schedule.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs = 15_000) {
  const until = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > until) throw new Error('timed out waiting')
    await sleep(25)
  }
}

const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn()
})
function track<T extends Database | JobQueue>(x: T): T {
  cleanups.push(() => ('enqueue' in x ? x.stop() : x.close()))
  return x
}

/**
 * Two connections to one database, as two replicas have. On a real server, two pools. PGlite
 * admits one connection (docs/performance-notes.md#pglite-takes-exactly-one-connection), so there both replicas share it; the claim is still one
 * atomic statement per replica, which is what keeps a job from running twice.
 */
async function twoReplicas(): Promise<[Database, Database]> {
  const db = track(await createTestDatabase())
  return [db, (db as TestDatabase).url ? track(await openDatabase({ url: (db as TestDatabase).url, max: 3 })) : db]
}

describe('job workers', () => {
  it('never runs a job twice when two workers share the database', async () => {
    const [dbA, dbB] = await twoReplicas()
    const runs = new Map<number, number>()
    const byWorker = { a: 0, b: 0 }
    const handler = (worker: 'a' | 'b') => async (payload: { n: number }) => {
      runs.set(payload.n, (runs.get(payload.n) ?? 0) + 1)
      byWorker[worker]++
      await sleep(Math.random() * 10)
    }
    const a = track(createJobQueue({ sql: dbA.sql, workerId: 'a', pollIntervalMs: 10, concurrency: 4 }))
    const b = track(createJobQueue({ sql: dbB.sql, workerId: 'b', pollIntervalMs: 10, concurrency: 4 }))
    a.register('load.item', handler('a'))
    b.register('load.item', handler('b'))
    a.start()
    b.start()
    await Promise.all(Array.from({ length: 50 }, (_, n) => a.enqueue('load.item', { n })))
    await waitFor(async () => (await a.stats()).completed_last_24h === 50)
    expect(runs.size).toBe(50)
    expect([...runs.values()].every((c) => c === 1)).toBe(true)
    expect(byWorker.a + byWorker.b).toBe(50)
    console.log(`50 jobs split between workers: a=${byWorker.a} b=${byWorker.b}`)
  })

  it('runs after a restart a job enqueued before it, and retakes one a crashed worker left running', async () => {
    const serverUrl = process.env.TEST_DATABASE_URL
    let open: () => Promise<Database>
    if (serverUrl) {
      const t = track(await createTestDatabase())
      open = () => openDatabase({ url: t.url })
    } else {
      const dataDir = await mkdtemp(join(tmpdir(), 'omnistack-jobs-restart-'))
      cleanups.push(() => rm(dataDir, { recursive: true, force: true }))
      await (await createTestDatabase({ dataDir })).close()
      open = () => openDatabase({ dataDir })
    }

    const db1 = await open()
    const q1 = createJobQueue({ sql: db1.sql, workerId: 'before' })
    const waiting = await q1.enqueue('restart.survivor', { keep: true })
    const crashed = await q1.enqueue('restart.survivor', { crashed: true })
    // What a worker that died mid-job leaves behind: running, with a lease that has run out.
    await db1.sql`update jobs set state = 'running', attempts = 1, locked_by = 'dead-worker',
      locked_until = now() - interval '1 second' where id = ${crashed.id}`
    await q1.stop()
    await db1.close()

    const db2 = track(await open())
    const ran: { payload: unknown; attempt: number }[] = []
    const q2 = track(createJobQueue({ sql: db2.sql, workerId: 'after', pollIntervalMs: 20 }))
    q2.register('restart.survivor', (payload, job) => void ran.push({ payload, attempt: job.attempt }))
    q2.start()
    await waitFor(() => ran.length === 2)
    expect(ran).toContainEqual({ payload: { keep: true }, attempt: 1 })
    expect(ran).toContainEqual({ payload: { crashed: true }, attempt: 2 })
    // A job is marked completed after its handler returns: wait for that write, not only the run.
    await waitFor(
      async () =>
        (await q2.get(waiting.id))?.state === 'completed' && (await q2.get(crashed.id))?.state === 'completed',
    )
    expect((await q2.get(waiting.id))!.state).toBe('completed')
    expect((await q2.get(crashed.id))!).toMatchObject({ state: 'completed', attempts: 2 })
  })

  it('keeps renewing the lease of a long job so no other worker takes it', async () => {
    const [dbA, dbB] = await twoReplicas()
    let runs = 0
    const slow = async () => {
      runs++
      await sleep(700)
    }
    const a = track(createJobQueue({ sql: dbA.sql, workerId: 'a', pollIntervalMs: 20, leaseMs: 200 }))
    const b = track(createJobQueue({ sql: dbB.sql, workerId: 'b', pollIntervalMs: 20, leaseMs: 200 }))
    a.register('slow.job', slow)
    b.register('slow.job', slow)
    const { id } = await a.enqueue('slow.job')
    a.start()
    await waitFor(async () => (await a.get(id))!.state === 'running')
    b.start()
    await waitFor(async () => (await a.get(id))!.state === 'completed')
    expect(runs).toBe(1)
    expect((await a.get(id))!.attempts).toBe(1)
  })

  it('fires a schedule once per tick across replicas', async () => {
    const [dbA, dbB] = await twoReplicas()
    const ticks: string[] = []
    const a = track(createJobQueue({ sql: dbA.sql, workerId: 'a', pollIntervalMs: 50 }))
    const b = track(createJobQueue({ sql: dbB.sql, workerId: 'b', pollIntervalMs: 50 }))
    for (const q of [a, b]) {
      q.register('clock.tick', (payload: { every: string }, job) => void ticks.push(`${payload.every}:${job.id}`))
      q.schedule('clock.tick', '* * * * * *', { every: 'second' })
    }
    a.start()
    b.start()
    await sleep(2600)
    await a.stop()
    await b.stop()
    const rows = await dbA.sql<{ schedule_tick: Date; state: string }[]>`
      select schedule_tick, state from jobs where name = 'clock.tick' order by schedule_tick`
    expect(rows.length).toBeGreaterThanOrEqual(2)
    expect(rows.length).toBeLessThanOrEqual(3)
    expect(new Set(rows.map((r) => r.schedule_tick.getTime())).size).toBe(rows.length)
    for (const r of rows) expect(r.schedule_tick.getMilliseconds()).toBe(0)
    expect(new Set(ticks).size).toBe(ticks.length)
    expect(ticks.every((t) => t.startsWith('second:'))).toBe(true)
  })

  it('computes cron ticks in UTC', () => {
    const at = new Date('2026-03-01T10:17:00.000Z')
    expect(latestTick('17 * * * *', at).toISOString()).toBe('2026-03-01T10:17:00.000Z')
    expect(nextTick('17 * * * *', at).toISOString()).toBe('2026-03-01T11:17:00.000Z')
    expect(latestTick('0 3 * * *', at).toISOString()).toBe('2026-03-01T03:00:00.000Z')
  })
})

/** Job queue: retries, dead jobs, run-at, unique keys, admin views (embedded or TEST_DATABASE_URL). */
import { afterEach, beforeEach, describe, expect, it } from 'bun:test'
import { AppError } from '../errors/index.ts'
import { createLogger } from '../observability/index.ts'
import { createTestDatabase, type TestDatabase } from '../testing/database.ts'
import { createJobQueue, type JobQueue } from './queue.ts'
import { backoffMs, describeError } from './worker.ts'

let db: TestDatabase
const queues: JobQueue[] = []
const queue = (opts: Partial<Parameters<typeof createJobQueue>[0]> = {}) => {
  const q = createJobQueue({ sql: db.sql, pollIntervalMs: 20, ...opts })
  queues.push(q)
  return q
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs = 10_000) {
  const until = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > until) throw new Error('timed out waiting')
    await sleep(20)
  }
}

beforeEach(async () => {
  db = await createTestDatabase()
})
afterEach(async () => {
  await Promise.all(queues.splice(0).map((q) => q.stop()))
  await db.close()
})

describe('job queue', () => {
  it('runs a job once and records it as completed', async () => {
    const q = queue()
    const seen: unknown[] = []
    q.register('mail.send', (payload, job) => {
      seen.push([payload, job.attempt, job.name])
    })
    const { id, created } = await q.enqueue('mail.send', { to: 'a@example.com' })
    expect(created).toBe(true)
    expect(await q.runDue()).toBe(1)
    expect(await q.runDue()).toBe(0)
    expect(seen).toEqual([[{ to: 'a@example.com' }, 1, 'mail.send']])
    const job = (await q.get(id))!
    expect(job).toMatchObject({
      id,
      name: 'mail.send',
      queue: 'mail',
      state: 'completed',
      attempts: 1,
      max_attempts: 5,
      last_error: null,
    })
    expect(job.completed_at).toBeInstanceOf(Date)
    expect(job.run_at).toBeInstanceOf(Date)
    // Payloads round-trip as JSON, a bare string included; none is null.
    const text = await q.enqueue('mail.send', 'plain text')
    const none = await q.enqueue('mail.send')
    expect((await q.get(text.id))!.payload).toBe('plain text')
    expect((await q.get(none.id))!.payload).toBeNull()
    expect(await q.get('00000000-0000-0000-0000-000000000000')).toBeUndefined()
    expect(await q.get('not-a-uuid')).toBeUndefined()
  })

  it('retries with exponential backoff, records the error without secrets, then marks the job dead', async () => {
    const q = queue()
    let calls = 0
    q.register('hook.deliver', () => {
      calls++
      throw new Error(`upstream refused postgres://svc:hunter2@db.internal/app with Bearer abc.def.ghi (try ${calls})`)
    })
    const { id } = await q.enqueue('hook.deliver', null, { maxAttempts: 3, backoffMs: 300 })
    const before = Date.now()
    await q.runDue()
    let job = (await q.get(id))!
    expect(job).toMatchObject({ state: 'failed', attempts: 1 })
    expect(job.last_error).toBe('Error: upstream refused postgres://***@db.internal/app with Bearer *** (try 1)')
    const firstDelay = job.run_at.getTime() - before
    expect(firstDelay).toBeGreaterThanOrEqual(100) // 150-300 ms, minus clock skew and the query time
    expect(firstDelay).toBeLessThan(1000)
    expect(await q.runDue()).toBe(0) // not due yet

    await waitFor(async () => (await q.runDue()) > 0)
    job = (await q.get(id))!
    expect(job).toMatchObject({ state: 'failed', attempts: 2 })
    const secondDelay = job.run_at.getTime() - job.updated_at.getTime()
    expect(secondDelay).toBeGreaterThanOrEqual(290) // 300-600 ms
    expect(secondDelay).toBeLessThanOrEqual(610)

    await waitFor(async () => (await q.runDue()) > 0)
    job = (await q.get(id))!
    expect(job).toMatchObject({ state: 'dead', attempts: 3 })
    expect(job.last_error).toContain('(try 3)')
    await sleep(50)
    expect(await q.runDue()).toBe(0)
    expect(calls).toBe(3)
  })

  it('computes backoff as base * 2^(attempt-1) with jitter', () => {
    for (let i = 0; i < 50; i++) {
      expect(backoffMs(1000, 1)).toBeWithin(500, 1001)
      expect(backoffMs(1000, 3)).toBeWithin(2000, 4001)
    }
    expect(backoffMs(1000, 40)).toBeLessThanOrEqual(3600_000)
    expect(describeError(new TypeError('token=abc123 ok'))).toBe('TypeError: token=*** ok')
  })

  it('retries a dead job on request, and refuses other states or unknown ids', async () => {
    const q = queue()
    let fail = true
    q.register('report.build', () => {
      if (fail) throw new Error('no data yet')
    })
    const { id } = await q.enqueue('report.build', { month: 5 }, { maxAttempts: 1 })
    await q.runDue()
    expect((await q.get(id))!.state).toBe('dead')

    fail = false
    const requeued = await q.retry(id)
    expect(requeued).toMatchObject({ id, state: 'queued', attempts: 0, last_error: 'Error: no data yet' })
    expect(await q.runDue()).toBe(1)
    expect((await q.get(id))!.state).toBe('completed')

    const notRetriable = await q.retry(id).catch((e: AppError) => e)
    expect(notRetriable).toBeInstanceOf(AppError)
    expect((notRetriable as AppError).errorCode).toBe('CONFLICT')
    const missing = await q.retry('00000000-0000-0000-0000-000000000000').catch((e: AppError) => e)
    expect((missing as AppError).errorCode).toBe('NOT_FOUND')
    expect((missing as AppError).details).toEqual({ resource: 'Job', id: '00000000-0000-0000-0000-000000000000' })
    expect(((await q.retry('nope').catch((e) => e)) as AppError).errorCode).toBe('NOT_FOUND')
  })

  it('enqueues inside a transaction: the job exists only if it commits', async () => {
    const q = queue()
    q.register('outbox.send', () => {})
    await db.sql
      .begin(async (tx) => {
        await q.enqueue('outbox.send', { n: 1 }, { tx })
        throw new Error('roll back')
      })
      .catch(() => {})
    const { id } = await db.sql.begin((tx) => q.enqueue('outbox.send', { n: 2 }, { tx }))
    const all = await q.list({ skip: 0, limit: 10 })
    expect(all.items.map((j) => [j.id, j.payload])).toEqual([[id, { n: 2 }]])
  })

  it('does not run a job before its run_at', async () => {
    const q = queue()
    let ran = 0
    q.register('later.task', () => void ran++)
    await q.enqueue('later.task', {}, { runAt: new Date(Date.now() + 400) })
    expect(await q.runDue()).toBe(0)
    await sleep(450)
    expect(await q.runDue()).toBe(1)
    expect(ran).toBe(1)
  })

  it('enqueues a unique key once while the job is live', async () => {
    const q = queue()
    q.register('usage.rollup', () => {})
    const a = await q.enqueue('usage.rollup', { day: 1 }, { uniqueKey: 'day-1' })
    const b = await q.enqueue('usage.rollup', { day: 1 }, { uniqueKey: 'day-1' })
    const [c, d] = await Promise.all([
      q.enqueue('usage.rollup', {}, { uniqueKey: 'day-1' }),
      q.enqueue('usage.rollup', {}, { uniqueKey: 'day-1' }),
    ])
    expect(b).toEqual({ id: a.id, created: false })
    expect(c).toEqual({ id: a.id, created: false })
    expect(d).toEqual({ id: a.id, created: false })
    // Keys are per job name.
    expect((await q.enqueue('usage.other', {}, { uniqueKey: 'day-1' })).created).toBe(true)
    expect(await q.runDue()).toBe(1)
    // Once finished, the key is free again.
    const e = await q.enqueue('usage.rollup', {}, { uniqueKey: 'day-1' })
    expect(e.created).toBe(true)
    expect(e.id).not.toBe(a.id)
  })

  it('leaves jobs without a handler queued and warns once', async () => {
    const lines: { message: string; job?: string }[] = []
    const logger = createLogger({ level: 'warn', write: (l) => lines.push(JSON.parse(l)) })
    const q = queue({ logger })
    q.register('known.job', () => {})
    const { id } = await q.enqueue('orphan.job', { x: 1 })
    await q.enqueue('orphan.job', { x: 2 })
    q.start()
    await sleep(150)
    expect((await q.get(id))!.state).toBe('queued')
    const warnings = lines.filter((l) => l.job === 'orphan.job')
    expect(warnings.length).toBe(2) // one at enqueue, one from the worker's scan
    expect(warnings.map((w) => w.message)).toEqual([
      'job enqueued without a registered handler; it stays queued until one is',
      'due jobs have no registered handler; they stay queued',
    ])
  })

  it('lists jobs newest first, filtered by state, queue or exact name, and counts them', async () => {
    const q = queue()
    q.register('mail.send', () => {})
    q.register('mail.bounce', () => {
      throw new Error('bad')
    })
    q.register('billing.sync', () => {})
    const ids: string[] = []
    for (const name of ['mail.send', 'mail.send', 'mail.bounce', 'billing.sync']) {
      ids.push((await q.enqueue(name, { name }, { maxAttempts: 1 })).id)
      await sleep(5) // distinct created_at
    }
    await q.runDue()
    await q.enqueue('billing.sync', {}, { runAt: new Date(Date.now() + 60_000) })

    const all = await q.list({ skip: 0, limit: 20 })
    expect(all.total).toBe(5)
    expect(all.items[1]!.id).toBe(ids[3]!)
    expect((await q.list({ state: 'dead', skip: 0, limit: 20 })).items.map((j) => j.id)).toEqual([ids[2]!])
    expect((await q.list({ state: 'queued', skip: 0, limit: 20 })).total).toBe(1)
    const mail = await q.list({ queue: 'mail', skip: 0, limit: 2 })
    expect(mail).toMatchObject({ total: 3, skip: 0, limit: 2 })
    expect(mail.items.map((j) => j.id)).toEqual([ids[2]!, ids[1]!])
    expect(
      (await q.list({ queue: 'mail.send', state: 'completed', skip: 0, limit: 20 })).items.map((j) => j.id),
    ).toEqual([ids[1]!, ids[0]!])
    expect(await q.list({ queue: 'mail', skip: 10, limit: 5 })).toEqual({ items: [], total: 3, skip: 10, limit: 5 })

    expect(await q.stats()).toEqual({
      queued: 1,
      running: 0,
      failed: 0,
      dead: 1,
      completed_last_24h: 3,
      failed_last_24h: 1,
    })
  })

  it('validates names, options and cron expressions up front', async () => {
    const q = queue()
    q.register('a.b', () => {})
    expect(() => q.register('a.b', () => {})).toThrow('already registered')
    expect(() => q.schedule('a.b', '61 * * * *')).toThrow(/Invalid cron expression "61 \* \* \* \*"/)
    await expect(q.enqueue('a.b', {}, { maxAttempts: 0 })).rejects.toThrow('maxAttempts must be an integer >= 1')
  })
})

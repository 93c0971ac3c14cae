/**
 * Durable event subscribers (docs/jobs-and-events.md#durable-events): jobs enqueued in the
 * publisher's transaction, one per subscriber, only when it commits; they survive the publisher's
 * crash and retry on their own (embedded or TEST_DATABASE_URL).
 */
import { afterEach, beforeEach, describe, expect, it } from 'bun:test'
import { createTestDatabase, type TestDatabase } from '../testing/database.ts'
import { createJobQueue, type JobQueue } from './queue.ts'

let db: TestDatabase
const queues: JobQueue[] = []
const queue = (workerId: string) => {
  const q = createJobQueue({ sql: db.sql, pollIntervalMs: 20, workerId })
  queues.push(q)
  return q
}

/** The jobs of `name` in the table, oldest first. */
const jobsNamed = async (name: string) => [
  ...(await db.sql<{ id: string; state: string; payload: unknown; max_attempts: number }[]>`
    select id, state, payload, max_attempts from jobs where name = ${name} order by created_at, id`),
]

/** The subscribers two test plugins declare at boot; `seen` records each run. */
function subscribe(q: JobQueue, seen: string[], failFirst = false) {
  let failed = false
  q.subscribeDurable('thing.removed', 'alpha.cleanup', (p, job) => {
    seen.push(`alpha:${(p as { id: string }).id}:${job.attempt}`)
  })
  q.subscribeDurable(
    ['thing.removed', 'thing.renamed'],
    'beta.sync',
    (p, job) => {
      seen.push(`beta:${(p as { id: string }).id}:${job.attempt}`)
      if (failFirst && !failed) {
        failed = true
        throw new Error('beta is down')
      }
    },
    { maxAttempts: 3, backoffMs: 60_000 },
  )
}

beforeEach(async () => {
  db = await createTestDatabase()
})
afterEach(async () => {
  await Promise.all(queues.splice(0).map((q) => q.stop()))
  await db.close()
})

describe('durable event subscribers', () => {
  it('a committed publish enqueues one job per subscriber with the payload; a rolled-back one none', async () => {
    const q = queue('a')
    subscribe(q, [])
    const enqueued = await db.sql.begin((tx) => q.publishDurable(tx, 'thing.removed', { id: 't1' }))
    expect(enqueued.map((j) => j.job)).toEqual(['alpha.cleanup', 'beta.sync'])
    const alpha = await jobsNamed('alpha.cleanup')
    const beta = await jobsNamed('beta.sync')
    expect(alpha).toEqual([{ id: enqueued[0]!.id, state: 'queued', payload: { id: 't1' }, max_attempts: 5 }])
    expect(beta).toEqual([{ id: enqueued[1]!.id, state: 'queued', payload: { id: 't1' }, max_attempts: 3 }])

    const failure = await db.sql
      .begin(async (tx) => {
        await q.publishDurable(tx, 'thing.removed', { id: 't2' })
        throw new Error('the change failed after its publish')
      })
      .catch((err: Error) => err.message)
    expect(failure).toBe('the change failed after its publish')
    expect(await jobsNamed('alpha.cleanup')).toHaveLength(1)
    expect(await jobsNamed('beta.sync')).toHaveLength(1)

    // Only beta subscribes to renames; an event nobody subscribes to enqueues nothing.
    const renamed = await db.sql.begin((tx) => q.publishDurable(tx, 'thing.renamed', { id: 't3' }))
    expect(renamed.map((j) => j.job)).toEqual(['beta.sync'])
    expect(await db.sql.begin((tx) => q.publishDurable(tx, 'thing.created', { id: 't4' }))).toEqual([])
    const [all] = await db.sql<{ n: number }[]>`select count(*)::int as n from jobs`
    expect(all!.n).toBe(3)
  })

  it("the jobs outlive the publisher's process: a new one on the same database runs them", async () => {
    const before = queue('crashed')
    subscribe(before, [])
    await db.sql.begin((tx) => before.publishDurable(tx, 'thing.removed', { id: 'c1' }))
    // The publisher stops right after its commit, before any worker took the jobs.
    await before.stop()

    const seen: string[] = []
    const after = queue('restarted')
    subscribe(after, seen)
    expect(await after.runDue()).toBe(2)
    expect(seen.sort()).toEqual(['alpha:c1:1', 'beta:c1:1'])
    expect((await jobsNamed('alpha.cleanup')).map((j) => j.state)).toEqual(['completed'])
    expect((await jobsNamed('beta.sync')).map((j) => j.state)).toEqual(['completed'])
  })

  it('two replicas with the same subscribers: one job per subscriber per publish, run once', async () => {
    const seen: string[] = []
    const a = queue('replica-a')
    const b = queue('replica-b')
    subscribe(a, seen)
    subscribe(b, seen)
    await db.sql.begin((tx) => a.publishDurable(tx, 'thing.removed', { id: 'r1' }))
    await db.sql.begin((tx) => b.publishDurable(tx, 'thing.removed', { id: 'r2' }))
    await Promise.all([a.runDue(), b.runDue()])
    await Promise.all([a.runDue(), b.runDue()])
    expect(seen.sort()).toEqual(['alpha:r1:1', 'alpha:r2:1', 'beta:r1:1', 'beta:r2:1'])
    expect(await jobsNamed('alpha.cleanup')).toHaveLength(2)
  })

  it('each subscriber retries on its own: a failing one does not rerun the others', async () => {
    const seen: string[] = []
    const q = queue('retry')
    subscribe(q, seen, true)
    await db.sql.begin((tx) => q.publishDurable(tx, 'thing.removed', { id: 'f1' }))
    await q.runDue()
    expect(seen.sort()).toEqual(['alpha:f1:1', 'beta:f1:1'])
    expect((await jobsNamed('beta.sync')).map((j) => j.state)).toEqual(['failed'])
    // Its retry waits for its own backoff (a minute here); bring it forward.
    await db.sql`update jobs set run_at = now() where name = 'beta.sync'`
    await q.runDue()
    expect(seen.sort()).toEqual(['alpha:f1:1', 'beta:f1:1', 'beta:f1:2'])
    expect((await jobsNamed('alpha.cleanup')).map((j) => j.state)).toEqual(['completed'])
    expect((await jobsNamed('beta.sync')).map((j) => j.state)).toEqual(['completed'])
  })

  it('refuses a second handler under a subscribed job name, a repeated subscription and no event', () => {
    const q = queue('refusals')
    const handler = () => {}
    q.subscribeDurable('thing.removed', 'alpha.cleanup', handler)
    // The same handler may add an event to its job; another handler may not take the name.
    q.subscribeDurable('thing.renamed', 'alpha.cleanup', handler)
    expect(() => q.subscribeDurable('thing.created', 'alpha.cleanup', () => {})).toThrow(/another handler/)
    expect(() => q.subscribeDurable('thing.removed', 'alpha.cleanup', handler)).toThrow(/already subscribes/)
    expect(() => q.subscribeDurable([], 'gamma.sync', handler)).toThrow(/at least one event/)
    // Options are checked at boot: a publisher's change never fails on a subscriber's typo.
    expect(() => q.subscribeDurable('thing.removed', 'gamma.sync', handler, { maxAttempts: 0 })).toThrow(/maxAttempts/)
    // A job name a plugin registered otherwise is taken too.
    q.register('delta.run', handler)
    expect(() => q.subscribeDurable('thing.removed', 'delta.run', handler)).toThrow(/already registered/)
  })
})

/** The audit log (transactional, filtered, append-only) and the dashboard stats registry. */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { createTestDatabase, type TestDatabase } from '../../testing/database.ts'
import { silentLogger } from '../../observability/index.ts'
import { createAuditLog, createStatsRegistry, mergeStats, type AuditLog } from '../index.ts'
import type { Principal } from '../../auth/index.ts'

let db: TestDatabase
let audit: AuditLog
beforeAll(async () => {
  db = await createTestDatabase()
  audit = createAuditLog({ sql: db.sql, logger: silentLogger })
})
afterAll(() => db?.close())

const user = (id: string) => ({
  id,
  email: null,
  full_name: null,
  avatar_url: null,
  role: 'admin' as const,
  is_active: true,
  created_at: new Date(),
  updated_at: new Date(),
})

describe('audit log', () => {
  it('commits an entry with the change it records, and drops it with a rollback', async () => {
    await db.sql.begin(async (tx) => {
      await audit.record(
        { actor_id: 'a1', action: 'thing.keep', resource_type: 'thing', resource_id: 't1', details: { n: 1 } },
        tx,
      )
    })
    const failed = db.sql.begin(async (tx) => {
      await audit.record({ actor_id: 'a1', action: 'thing.lost', resource_type: 'thing' }, tx)
      throw new Error('the change failed')
    })
    expect(failed).rejects.toThrow('the change failed')
    await failed.catch(() => {})
    const rows = await db.sql`select action, details from audit_logs where actor_id = 'a1'`
    expect(rows.map((r) => r.action)).toEqual(['thing.keep'])
    expect(rows[0]!.details).toEqual({ n: 1 })
  })

  it('lists newest first with filters and a total', async () => {
    // Entries of the same microsecond order by id (docs/pagination.md tie-break): keep the timestamps apart.
    for (const action of ['x.one', 'x.two', 'x.one']) {
      await audit.record({ actor_id: 'lister', action, resource_type: 'x', ip_address: '192.0.2.1', request_id: 'r' })
      await Bun.sleep(2)
    }
    const all = await audit.list({ actor_id: 'lister', skip: 0, limit: 10 })
    expect(all.total).toBe(3)
    expect(all.items.map((e) => e.action)).toEqual(['x.one', 'x.two', 'x.one'])
    expect(all.items[0]).toMatchObject({ ip_address: '192.0.2.1', request_id: 'r', resource_id: null, details: {} })
    expect((await audit.list({ actor_id: 'lister', action: 'x.one', skip: 0, limit: 1 })).total).toBe(2)
    expect((await audit.list({ actor_id: 'lister', skip: 5, limit: 1 })).total).toBe(3)
    expect((await audit.list({ resource_type: 'nothing', skip: 0, limit: 1 })).total).toBe(0)
  })

  it('names the admin as the actor under impersonation', () => {
    const base = { user: user('target'), kind: 'jwt' as const, scopes: 'all' as const }
    expect(audit.from({ principal: base, requestId: 'r1', clientIp: '1.2.3.4' })).toEqual({
      actor_id: 'target',
      ip_address: '1.2.3.4',
      request_id: 'r1',
      details: {},
    })
    const acting: Principal = { ...base, kind: 'impersonation', actorId: 'admin' }
    expect(audit.from({ principal: acting, requestId: 'r2', clientIp: '1.2.3.4' })).toMatchObject({
      actor_id: 'admin',
      details: { on_behalf_of: 'target' },
    })
  })

  it('refuses updates and deletes at the database', async () => {
    expect(db.sql`update audit_logs set action = 'forged'`.then(() => 'ok')).rejects.toThrow(/append-only/)
    expect(db.sql`delete from audit_logs`.then(() => 'ok')).rejects.toThrow(/append-only/)
  })
})

describe('stats registry', () => {
  it('merges contributors of one section and leaves out a failing one', async () => {
    const stats = createStatsRegistry(silentLogger)
    stats.contribute('webhooks', () => ({ total: 3, failed: 1, pending: 0 }))
    stats.contribute('webhooks', async () => ({ total: 2, failed: 0, pending: 1 }))
    stats.contribute('subscriptions', () => ({ active: 1, by_plan: { pro: 1 } }))
    stats.contribute('subscriptions', () => ({ active: 2, by_plan: { pro: 1, free: 4 } }))
    stats.contribute('broken', () => {
      throw new Error('table missing')
    })
    expect(await stats.collect()).toEqual({
      webhooks: { total: 5, failed: 1, pending: 1 },
      subscriptions: { active: 3, by_plan: { pro: 2, free: 4 } },
    })
    expect(await createStatsRegistry(silentLogger).collect()).toEqual({})
    expect(mergeStats({ a: 'x', b: [1] }, { a: 'y', b: [2] })).toEqual({ a: 'y', b: [2] })
  })
})

/**
 * The report rollups of migration 0006 (docs/plugins/tickets.md#reports): figures kept by
 * triggers per creation hour, with the partial hours at the window edges read exactly.
 *
 * - Constructed cases with known answers: window edges inside an hour, a ticket moved between
 *   buckets by updates (answered, closed, reopened, its creation time changed), deletes (soft and
 *   hard).
 * - A random history (inserts one by one and in bulk, bulk updates, soft and hard deletes)
 *   crowded around the window boundaries, read at clocks inside and at the edges of hours, against
 *   an oracle that computes every report from the ticket rows (reports-oracle.ts); then the
 *   rollups as maintained equal the rollups rebuilt from scratch (tickets_report_rebuild()).
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import * as oracle from './reports-oracle.ts'
import { base, ticketsApp, type TicketsTestApp } from './support.ts'

const MIN = 60_000
const HOUR = 60 * MIN
const DAY = 24 * HOUR

let t: TicketsTestApp

/** The next clock read returns exactly `at` (the test clock ticks 1 ms before each read). */
const setClock = (at: Date | string) => t.clock.set(new Date(new Date(at).getTime() - 1))
const read = async (path: string, at: Date | string) => {
  setClock(at)
  const res = await t.as('amy').get(`${base}${path}`)
  expect(res.status).toBe(200)
  return res.body
}

interface Ticket {
  created: Date
  status?: string
  fr?: Date | null
  resolved?: Date | null
  closed?: Date | null
  by?: string | null
  frDue?: Date | null
  resDue?: Date | null
}

/** Inserts tickets in one statement; returns their ids in order. */
async function insert(rows: Ticket[]) {
  const sql = t.app.db.sql
  const values = rows.map((r) => ({
    title: 'History',
    description: 'History',
    requester_id: 'alice',
    status: r.status ?? 'open',
    first_response_at: r.fr ?? null,
    resolved_at: r.resolved ?? null,
    closed_at: r.closed ?? null,
    closed_by: r.by ?? null,
    first_response_due_at: r.frDue ?? null,
    resolution_due_at: r.resDue ?? null,
    created_at: r.created,
    updated_at: r.created,
  }))
  const out = await sql<{ id: string }[]>`insert into tickets ${sql(values)} returning id`
  return out.map((r) => r.id)
}

beforeAll(async () => {
  t = await ticketsApp()
  await t.user('amy', 'agent')
  await t.user('alice', 'user')
})
afterAll(() => t?.close())

describe('constructed cases', () => {
  // A quiet stretch of time of its own: 2030-06-10.
  const at = (iso: string) => new Date(`2030-06-10T${iso}Z`)
  const now = at('12:30:00')

  it('counts within the hour at now up to now only, and splits the hour of a stats boundary', async () => {
    await insert([
      { created: at('12:10:00'), frDue: at('12:20:00'), resDue: at('20:00:00') }, // in; breached at 12:20
      { created: at('12:50:00'), frDue: at('13:00:00'), resDue: at('20:00:00') }, // after now: out
      { created: at('11:59:59.999'), frDue: at('12:40:00'), resDue: at('20:00:00') }, // whole hour; breaches after now
      { created: new Date(now.getTime() - DAY + 5 * MIN) }, // past_24h (inside the boundary's hour)
      { created: new Date(now.getTime() - DAY - 5 * MIN) }, // past_24h_previous, same hour
      { created: new Date(now.getTime() - DAY) }, // exactly 24 h before: previous
    ])
    const s = await read('/analytics/summary?days=1', now)
    expect(s).toMatchObject({ tickets: 2, sla_total: 2, sla_breached: 1 })
    // Ten minutes earlier, the first ticket's reply is not yet late; at 12:40:00.001 the third breaches.
    expect(await read('/analytics/summary?days=1', at('12:19:59.999'))).toMatchObject({ tickets: 2, sla_breached: 0 })
    expect(await read('/analytics/summary?days=1', at('12:20:00.001'))).toMatchObject({ tickets: 2, sla_breached: 1 })
    expect(await read('/analytics/summary?days=1', at('12:40:00'))).toMatchObject({ tickets: 2, sla_breached: 1 })
    expect(await read('/analytics/summary?days=1', at('12:40:00.001'))).toMatchObject({ tickets: 2, sla_breached: 2 })
    expect((await read('/metrics/daily?days=1', now)).daily).toEqual([{ day: '2030-06-10', count: 2 }])
    expect((await read('/metrics/daily?days=2', now)).daily).toEqual([
      { day: '2030-06-09', count: 3 },
      { day: '2030-06-10', count: 2 },
    ])
    const stats = await read('/stats', now)
    expect(stats.past_24h.new_tickets_total).toBe(3)
    expect(stats.past_24h_previous.new_tickets_total).toBe(2)
  })

  it('moves a ticket between buckets as it is answered, closed, reopened and re-dated', async () => {
    const sql = t.app.db.sql
    const [id] = await insert([{ created: at('12:05:00'), frDue: at('12:15:00'), resDue: at('14:00:00') }])
    const summary = () => read('/analytics/summary?days=1', now)
    const sla = () => read('/metrics/sla?days=1', now)
    expect(await summary()).toMatchObject({ tickets: 3, sla_total: 3, sla_breached: 2 })
    expect(await sla()).toEqual({ total: 0, met: 0, sla_attainment: null })
    // Answered in time: no longer breached; its resolution still runs, so still undecided.
    await sql`update tickets set first_response_at = ${at('12:14:00')} where id = ${id!}`
    expect(await summary()).toMatchObject({ tickets: 3, sla_breached: 1 })
    // Resolved and closed in time: decided and met.
    await sql`update tickets set status = 'closed', resolved_at = ${at('12:25:00')}, closed_at = ${at('12:25:00')},
      closed_by = 'amy' where id = ${id!}`
    expect(await sla()).toEqual({ total: 1, met: 1, sla_attainment: 1 })
    let stats = await read('/stats', now)
    expect(stats.past_24h).toMatchObject({ new_tickets_now_closed: 1, closed_today: 1, closed_today_from_today: 1 })
    expect(stats.past_24h.helpers_leaderboard).toEqual([{ user_id: 'amy', count: 1 }])
    // Reopened: not closed any more, off the board.
    await sql`update tickets set status = 'open', closed_at = null, closed_by = null where id = ${id!}`
    stats = await read('/stats', now)
    expect(stats.past_24h).toMatchObject({ new_tickets_now_closed: 0, closed_today: 0, helpers_leaderboard: [] })
    // Re-dated to two days before: it leaves today's figures and enters 2030-06-08's.
    await sql`update tickets set created_at = created_at - interval '2 days' where id = ${id!}`
    expect(await summary()).toMatchObject({ tickets: 2 })
    const daily = (await read('/metrics/daily?days=3', now)).daily
    expect(daily[0]).toEqual({ day: '2030-06-08', count: 1 })
    stats = await read('/stats', now)
    expect(stats.past_24h_previous.new_tickets_total).toBe(2)
    expect(stats.past_7d.new_tickets_total).toBe(6)
  })

  it('forgets deleted tickets, soft or hard', async () => {
    const sql = t.app.db.sql
    const [soft, hard] = await insert([
      { created: at('12:01:00'), frDue: at('12:02:00'), resDue: at('13:00:00') },
      { created: at('09:00:00'), status: 'closed', closed: at('10:00:00'), by: 'zed' },
    ])
    expect(await read('/analytics/summary?days=1', now)).toMatchObject({ tickets: 4, sla_breached: 2 })
    let stats = await read('/stats', now)
    expect(stats.past_24h.helpers_leaderboard).toEqual([{ user_id: 'zed', count: 1 }])
    await sql`update tickets set deleted_at = ${now} where id = ${soft!}`
    await sql`delete from tickets where id = ${hard!}`
    expect(await read('/analytics/summary?days=1', now)).toMatchObject({ tickets: 2, sla_breached: 1 })
    stats = await read('/stats', now)
    expect(stats.past_24h.helpers_leaderboard).toEqual([])
    expect(stats.all_time.helpers_leaderboard).toEqual([])
    expect(stats.past_24h.new_tickets_total).toBe(3)
  })
})

/** A small deterministic generator, mulberry32 (the history is the same on every run). */
function random(seed: number) {
  let s = seed >>> 0
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0
    let x = Math.imul(s ^ (s >>> 15), 1 | s)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]!,
  }
}

describe('random history against the oracle', () => {
  // 2028-02-20 12:00 and the clocks read around it: inside an hour, at its first and last
  // millisecond, a day later.
  const B = Date.parse('2028-02-20T12:00:00Z')
  const clocks = [B + 17 * MIN, B, B + HOUR - 1, B + DAY + 30 * MIN + 7, B - 6 * DAY - 59 * MIN].map((x) => new Date(x))
  const r = random(17)
  const STATUSES = ['open', 'pending', 'in_progress', 'resolved', 'closed'] as const

  /** Created near a boundary of one of the clocks (or anywhere in 20 days), with an arbitrary history. */
  function ticket(at?: number): Ticket {
    const clock = r.pick(clocks).getTime()
    const boundary = clock - r.pick([0, DAY, 2 * DAY, 7 * DAY, 14 * DAY])
    const near = r.next() < 0.7 ? boundary + r.int(4 * HOUR) - 2 * HOUR : B - 18 * DAY + r.int(20 * DAY)
    const created = at ?? near
    const after = (max: number) => new Date(created + r.int(max))
    const status = r.pick(STATUSES)
    const sla = r.next() < 0.8
    const resolved = status === 'resolved' || status === 'closed' || r.next() < 0.1 ? after(60 * HOUR) : null
    return {
      created: new Date(created),
      status,
      fr: r.next() < 0.6 ? after(12 * HOUR) : null,
      resolved,
      closed: status === 'closed' ? new Date((resolved ?? new Date(created)).getTime() + r.int(HOUR)) : null,
      by: status === 'closed' && r.next() < 0.9 ? r.pick(['amy', 'zoe', 'bob', 'kim']) : null,
      frDue: sla ? after(10 * HOUR) : null,
      resDue: sla && r.next() < 0.95 ? after(50 * HOUR) : null,
    }
  }

  beforeAll(async () => {
    const sql = t.app.db.sql
    // One by one, then in bulk.
    for (let i = 0; i < 60; i++) await insert([ticket()])
    for (let i = 0; i < 6; i++) await insert(Array.from({ length: 50 }, () => ticket()))
    // At once (on PostgreSQL, on several connections): creates meeting on the same rollup rows.
    await Promise.all(Array.from({ length: 40 }, () => insert([ticket(B + 5 * MIN)])))
    const ids = (await sql<{ id: string }[]>`select id from tickets where created_at < '2029-01-01' order by id`).map(
      (x) => x.id,
    )
    const some = (share: number) => ids.filter(() => r.next() < share)
    // Closes at once, each its own statement and transaction.
    await Promise.all(
      some(0.1).map(
        (id) => sql`update tickets set status = 'closed', closed_at = created_at + interval '1 hour', closed_by = 'kim'
          where id = ${id}`,
      ),
    )
    // Bulk updates that move tickets between hours, statuses, closers and SLA states.
    await sql`update tickets set status = 'closed', closed_at = created_at + interval '90 minutes', closed_by = 'zoe',
      resolved_at = coalesce(resolved_at, created_at + interval '80 minutes') where id = any(${some(0.15)}::uuid[])`
    await sql`update tickets set first_response_at = created_at + interval '3 hours' where id = any(${some(0.2)}::uuid[])`
    await sql`update tickets set created_at = created_at - interval '37 minutes' where id = any(${some(0.1)}::uuid[])`
    await sql`update tickets set status = 'open', closed_at = null, closed_by = null, resolved_at = null
      where id = any(${some(0.1)}::uuid[])`
    await sql`update tickets set first_response_due_at = null, resolution_due_at = null where id = any(${some(0.05)}::uuid[])`
    await sql`update tickets set title = 'Renamed' where id = any(${some(0.3)}::uuid[])`
    await sql`update tickets set deleted_at = created_at where id = any(${some(0.05)}::uuid[])`
    await sql`update tickets set deleted_at = null where id = any(${some(0.3)}::uuid[])`
    await sql`delete from tickets where id = any(${some(0.05)}::uuid[])`
  })

  it('gives the exact figures of every report at every clock', async () => {
    const rows = await oracle.loadRows(t.app.db.sql)
    expect(rows.length).toBeGreaterThan(300)
    for (const now of clocks) {
      for (const days of [1, 2, 7, 30]) {
        expect(await read(`/metrics/sla?days=${days}`, now)).toEqual(oracle.sla(rows, now, days))
        expect(await read(`/analytics/summary?days=${days}`, now)).toEqual(oracle.summary(rows, now, days))
        expect(await read(`/metrics/daily?days=${days}`, now)).toEqual(oracle.daily(rows, now, days))
      }
      const s = await read('/stats', now)
      const expected = oracle.stats(rows, now)
      const { oldest_unanswered_ticket: _o, ...allTime } = s.all_time
      expect(allTime).toEqual(expected.all_time)
      for (const w of ['past_24h', 'past_24h_previous', 'past_7d', 'past_7d_previous'] as const) {
        const { assigned_today_in_progress: _a, ...got } = s[w]
        expect(got).toEqual(expected[w])
      }
    }
  })

  it('keeps the rollups equal to a rebuild from the tickets', async () => {
    const sql = t.app.db.sql
    const tables = [
      'ticket_report_created',
      'ticket_report_totals',
      'ticket_report_breach',
      'ticket_report_decided',
      'ticket_report_closes',
      'ticket_report_closer_totals',
      'ticket_report_closed_created',
    ]
    const keys = ['hour', 'shard', 'breach_hour', 'decided_hour', 'closed_by', 'created_hour']
    // Rows whose figures are all zero (every ticket of the key moved away) are left by the
    // triggers and not made by a rebuild: compare the others.
    const nonZero = async () => {
      const out: Record<string, string[]> = {}
      for (const table of tables) {
        const rows = await sql.unsafe(`select * from ${table}`)
        out[table] = rows
          .filter((row) => Object.entries(row).some(([c, v]) => !keys.includes(c) && Number(v) !== 0))
          .map((row) => JSON.stringify(Object.entries(row).map(([c, v]) => [c, keys.includes(c) ? v : Number(v)])))
          .sort()
      }
      return out
    }
    const before = await nonZero()
    expect(before.ticket_report_created!.length).toBeGreaterThan(10)
    await sql`select tickets_report_rebuild()`
    expect(await nonZero()).toEqual(before)
  })
})

/**
 * Reports (docs/plugins/tickets.md#reports) with an injected clock: metrics/sla, metrics/resolution,
 * metrics/daily, analytics/summary and stats give exact figures for a constructed history (SLA
 * met and breached, means, medians, zero-filled days, window boundaries, leaderboards, the oldest
 * unanswered ticket); staff and staff keys with analytics:read only; bad `days` is 422.
 *
 * Most of the history is inserted with SQL (the routes cannot set past timestamps); two tickets
 * go through the real routes (create, first reply, assign, close).
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { base, keyHeader, ticketsApp, type TicketsTestApp } from './support.ts'

const MIN = 60_000
const HOUR = 60 * MIN
/** The reports are read at this instant unless a test says otherwise. */
const T0 = '2026-03-10T12:00:00.000Z'
const PUBLIC_URL = 'https://help.example.com'

let t: TicketsTestApp
const ids: Record<string, { id: string; number: number }> = {}
/** Resolution time of Q (created and closed through the routes: its timestamps carry the clock's ticks). */
let qResolutionMs = 0

/** The next clock read returns exactly `iso` (the test clock ticks 1 ms before each read). */
const at = (iso: string) => t.clock.set(new Date(Date.parse(iso) - 1))
const plus = (iso: string, ms: number) => new Date(Date.parse(iso) + ms)

/**
 * A ticket inserted as it would be after its history: normal priority (first response due after
 * 8 hours, resolution after 48) unless `sla: false`.
 */
async function insert(
  name: string,
  o: {
    created: string
    status: string
    fr?: string
    resolved?: string
    closed?: string
    by?: string
    sla?: false
    deleted?: true
  },
) {
  const sql = t.app.db.sql
  const created = new Date(o.created)
  const frDue = o.sla === false ? null : plus(o.created, 8 * HOUR)
  const resDue = o.sla === false ? null : plus(o.created, 48 * HOUR)
  const d = (s?: string) => (s ? new Date(s) : null)
  const [r] = await sql<{ id: string; number: number }[]>`
    insert into tickets (title, description, status, requester_id, sla_policy, first_response_due_at, resolution_due_at,
      first_response_at, resolved_at, closed_at, closed_by, created_at, updated_at, deleted_at)
    values (${`Ticket ${name}`}, 'History', ${o.status}, 'alice', ${o.sla === false ? null : 'normal'}, ${frDue}, ${resDue},
      ${d(o.fr)}, ${d(o.resolved)}, ${d(o.closed)}, ${o.by ?? null}, ${created}, ${created}, ${o.deleted ? created : null})
    returning id, number`
  ids[name] = r!
}

beforeAll(async () => {
  t = await ticketsApp({ env: { PUBLIC_URL: `${PUBLIC_URL}/` } })
  for (const [id, role] of [
    ['amy', 'agent'],
    ['zoe', 'agent'],
    ['boss', 'admin'],
    ['alice', 'user'],
  ] as const)
    await t.user(id, role)

  // name: created; status; first response; resolved; closed by whom.
  await insert('A', {
    created: '2026-03-10T01:00:00Z',
    status: 'resolved',
    fr: '2026-03-10T02:00:00Z',
    resolved: '2026-03-10T03:00:00Z',
  })
  await insert('B', { created: '2026-03-10T02:00:00Z', status: 'in_progress', fr: '2026-03-10T11:00:00Z' }) // first response late
  await insert('C', { created: '2026-03-09T10:00:00Z', status: 'open' }) // unanswered past due
  await insert('D', {
    created: '2026-03-05T00:00:00Z',
    status: 'closed',
    fr: '2026-03-05T01:00:00Z',
    resolved: '2026-03-06T00:00:00Z',
    closed: '2026-03-06T00:00:00Z',
    by: 'zoe',
  })
  await insert('E', {
    created: '2026-03-04T00:00:00Z',
    status: 'resolved',
    fr: '2026-03-04T10:00:00Z',
    resolved: '2026-03-05T06:00:00Z',
  })
  await insert('F', {
    created: '2026-03-03T23:59:59.999Z', // 1 ms before the 7-day window of the day reports
    status: 'closed',
    fr: '2026-03-04T00:59:59.999Z',
    resolved: '2026-03-04T11:59:59.999Z',
    closed: '2026-03-04T12:00:00Z',
    by: 'amy',
  })
  await insert('G', {
    created: '2026-02-20T00:00:00Z',
    status: 'closed',
    fr: '2026-02-20T01:00:00Z',
    resolved: '2026-02-23T00:00:00Z', // resolution a day late
    closed: '2026-02-23T00:00:00Z',
    by: 'zoe',
  })
  await insert('H', { created: '2026-03-10T05:00:00Z', status: 'open', deleted: true })
  await insert('I', { created: '2026-03-08T12:00:00Z', status: 'open', sla: false }) // exactly 48 h before T0
  await insert('J', {
    created: '2026-01-01T00:00:00Z',
    status: 'closed',
    fr: '2026-01-01T01:00:00Z',
    resolved: '2026-01-02T00:00:00Z',
    closed: '2026-01-02T00:00:00Z',
    by: 'zoe',
  })
  await insert('K', { created: '2026-03-03T12:00:00Z', status: 'open' }) // exactly 7 days before T0
  await insert('R', {
    created: '2026-03-01T00:00:00Z',
    status: 'closed',
    fr: '2026-03-01T01:00:00Z',
    resolved: '2026-03-10T10:00:00Z',
    closed: '2026-03-10T10:00:00Z',
    by: 'zoe',
  })

  // Through the routes: P answered after 30 minutes and assigned; Q closed after an hour, unanswered.
  at('2026-03-10T06:00:00Z')
  const p = await t.as('alice').post(base, { title: 'Printer', description: 'It jams' })
  expect(p.status).toBe(201)
  ids.P = p.body
  at('2026-03-10T06:30:00Z')
  expect((await t.as('amy').post(`${base}/${p.body.id}/comments`, { body_md: 'Looking' })).status).toBe(201)
  at('2026-03-10T07:00:00Z')
  const assigned = await t.as('amy').post(`${base}/${p.body.id}/assign`, { assignee_id: 'zoe' })
  expect(assigned.body.status).toBe('in_progress')
  at('2026-03-10T08:00:00Z')
  const q = await t.as('alice').post(base, { title: 'VPN', description: 'Down' })
  ids.Q = q.body
  at('2026-03-10T09:00:00Z')
  const closed = await t.as('amy').post(`${base}/${q.body.id}/close`)
  expect(closed.status).toBe(200)
  qResolutionMs = Date.parse(closed.body.resolved_at) - Date.parse(closed.body.created_at)
  expect(Math.abs(qResolutionMs - HOUR)).toBeLessThan(1000)
})
afterAll(() => t?.close())

const get = (path: string, who = 'amy') => {
  at(T0)
  return t.as(who).get(`${base}${path}`)
}

describe('metrics/sla', () => {
  it('counts tickets whose two targets are decided, over the last N UTC days', async () => {
    // days=1 (today): A met both; B (late first reply, resolution running), P and Q are undecided.
    expect((await get('/metrics/sla?days=1')).body).toEqual({ total: 1, met: 1, sla_attainment: 1 })
    // days=7 (from 03-04 00:00, so F at 03-03 23:59:59.999 is out): A and D met, E breached.
    expect((await get('/metrics/sla?days=7')).body).toEqual({ total: 3, met: 2, sla_attainment: 0.667 })
    // days=30 (default): + F met, G resolved late, K past both due times, R resolved late.
    const d30 = { total: 7, met: 3, sla_attainment: 0.429 }
    expect((await get('/metrics/sla?days=30')).body).toEqual(d30)
    expect((await get('/metrics/sla')).body).toEqual(d30)
    // days=365: + J met. The deleted H and I (no SLA) never count.
    expect((await get('/metrics/sla?days=365')).body).toEqual({ total: 8, met: 4, sla_attainment: 0.5 })
  })

  it('is null when nothing counts', async () => {
    t.clock.set('2025-06-01T00:00:00Z')
    const res = await t.as('amy').get(`${base}/metrics/sla?days=1`)
    expect(res.body).toEqual({ total: 0, met: 0, sla_attainment: null })
  })
})

describe('metrics/resolution', () => {
  it('averages and takes the median of resolved_at - created_at of tickets created in the window', async () => {
    // days=7: Q (about 1 h), A 2 h, D 24 h, E 30 h.
    const r7 = (await get('/metrics/resolution?days=7')).body
    expect(r7).toEqual({
      avg_resolution_ms: Math.round((2 * HOUR + 24 * HOUR + 30 * HOUR + qResolutionMs) / 4),
      median_resolution_ms: 13 * HOUR,
      count: 4,
    })
    const r1 = (await get('/metrics/resolution?days=1')).body
    expect(r1).toEqual({
      avg_resolution_ms: Math.round((2 * HOUR + qResolutionMs) / 2),
      median_resolution_ms: Math.round((2 * HOUR + qResolutionMs) / 2),
      count: 2,
    })
    t.clock.set('2025-06-01T00:00:00Z')
    expect((await t.as('amy').get(`${base}/metrics/resolution`)).body).toEqual({
      avg_resolution_ms: null,
      median_resolution_ms: null,
      count: 0,
    })
  })
})

describe('metrics/daily', () => {
  it('gives one entry per UTC day, oldest first, today included, zero-filled', async () => {
    expect((await get('/metrics/daily?days=7')).body).toEqual({
      daily: [
        { day: '2026-03-04', count: 1 },
        { day: '2026-03-05', count: 1 },
        { day: '2026-03-06', count: 0 },
        { day: '2026-03-07', count: 0 },
        { day: '2026-03-08', count: 1 },
        { day: '2026-03-09', count: 1 },
        { day: '2026-03-10', count: 4 },
      ],
    })
    expect((await get('/metrics/daily?days=1')).body).toEqual({ daily: [{ day: '2026-03-10', count: 4 }] })
    // Today up to now only: at 01:30, A (01:00) is in, B (02:00), P and Q are not yet.
    at('2026-03-10T01:30:00Z')
    expect((await t.as('amy').get(`${base}/metrics/daily?days=1`)).body).toEqual({
      daily: [{ day: '2026-03-10', count: 1 }],
    })
    const d30 = (await get('/metrics/daily')).body.daily
    expect(d30).toHaveLength(30)
    expect(d30[0]).toEqual({ day: '2026-02-09', count: 0 })
    expect(d30.find((d: any) => d.day === '2026-02-20')).toEqual({ day: '2026-02-20', count: 1 })
    expect(d30.find((d: any) => d.day === '2026-03-03')).toEqual({ day: '2026-03-03', count: 2 })
    expect(d30.reduce((n: number, d: any) => n + d.count, 0)).toBe(12)
    // Across a year boundary.
    expect((await get('/metrics/daily?days=365')).body.daily[0].day).toBe('2025-03-11')
  })
})

describe('analytics/summary', () => {
  it("answers seed 000's shape: totals and rollups newest first, zero-filled", async () => {
    const expected = {
      days: 7,
      tickets: 8,
      sla_breached: 3, // B (late reply), C (unanswered past due), E (late reply)
      sla_total: 7, // I has no SLA
      sla_compliance_ratio: 0.571,
      rollups: [
        { day: '2026-03-10', total: 4, sla_breached: 1, sla_total: 4 },
        { day: '2026-03-09', total: 1, sla_breached: 1, sla_total: 1 },
        { day: '2026-03-08', total: 1, sla_breached: 0, sla_total: 0 },
        { day: '2026-03-07', total: 0, sla_breached: 0, sla_total: 0 },
        { day: '2026-03-06', total: 0, sla_breached: 0, sla_total: 0 },
        { day: '2026-03-05', total: 1, sla_breached: 0, sla_total: 1 },
        { day: '2026-03-04', total: 1, sla_breached: 1, sla_total: 1 },
      ],
    }
    expect((await get('/analytics/summary?days=7')).body).toEqual(expected)
    expect((await get('/analytics/summary')).body).toEqual(expected)
    // 30 days: + F, G (late), K (past due), R (late) on their days.
    const s30 = (await get('/analytics/summary?days=30')).body
    expect(s30).toMatchObject({ days: 30, tickets: 12, sla_breached: 6, sla_total: 11, sla_compliance_ratio: 0.455 })
    expect(s30.rollups).toHaveLength(30)
    expect(s30.rollups[0].day).toBe('2026-03-10')
    expect(s30.rollups[29]).toEqual({ day: '2026-02-09', total: 0, sla_breached: 0, sla_total: 0 })
    expect(s30.rollups.find((r: any) => r.day === '2026-03-03')).toEqual({
      day: '2026-03-03',
      total: 2,
      sla_breached: 1,
      sla_total: 2,
    })
  })

  it('is null when no ticket has an SLA', async () => {
    t.clock.set('2025-06-01T00:00:00Z')
    const res = await t.as('amy').get(`${base}/analytics/summary?days=2`)
    expect(res.body).toEqual({
      days: 2,
      tickets: 0,
      sla_breached: 0,
      sla_total: 0,
      sla_compliance_ratio: null,
      rollups: [
        { day: '2025-06-01', total: 0, sla_breached: 0, sla_total: 0 },
        { day: '2025-05-31', total: 0, sla_breached: 0, sla_total: 0 },
      ],
    })
  })
})

describe('stats', () => {
  it("answers seed 002's StatsV2 with windows rolling from now", async () => {
    const res = await get('/stats')
    expect(res.status).toBe(200)
    const s = res.body
    expect(s.all_time).toEqual({
      tickets_total: 13, // H is deleted
      tickets_open: 3, // C, I, K
      tickets_closed: 6, // D, F, G, J, R, Q
      tickets_in_progress: 2, // B, P
      helpers_leaderboard: [
        { user_id: 'zoe', count: 4 },
        { user_id: 'amy', count: 2 },
      ],
      // Answered: A 60, B 540, D 60, E 600, F 60, G 60, J 60, R 60, P 30 minutes.
      mean_hang_time_minutes_unresolved: 285, // B and P
      mean_hang_time_minutes_all: 170,
      // A 120, D 1440, E 1800, F 720, G 4320, J 1440, R 13560, Q 60.
      mean_resolution_time_minutes: 2932.5,
      oldest_unanswered_ticket: {
        id: ids.K!.id,
        number: ids.K!.number,
        created_at: '2026-03-03T12:00:00.000Z',
        age_minutes: 7 * 24 * 60,
        link: `${PUBLIC_URL}/api/v1/app/tickets/${ids.K!.id}`,
      },
    })
    // (2026-03-09 12:00, T0]: A, B, P, Q created; Q and R closed (R created before).
    expect(s.past_24h).toEqual({
      new_tickets_total: 4,
      new_tickets_now_closed: 1,
      new_tickets_still_open: 0,
      new_tickets_in_progress: 2,
      closed_today: 2,
      closed_today_from_today: 1,
      assigned_today_in_progress: 1, // P
      helpers_leaderboard: [
        { user_id: 'amy', count: 1 },
        { user_id: 'zoe', count: 1 },
      ],
      mean_hang_time_minutes_unresolved: 285,
      mean_hang_time_minutes_all: 210,
      mean_resolution_time_minutes: 90,
    })
    // (2026-03-08 12:00, 2026-03-09 12:00]: C only; I, created exactly 48 h before now, is in neither.
    expect(s.past_24h_previous).toEqual({
      new_tickets_total: 1,
      new_tickets_now_closed: 0,
      new_tickets_still_open: 1,
      new_tickets_in_progress: 0,
      closed_today: 0,
      closed_today_from_today: 0,
      assigned_today_in_progress: 0,
      helpers_leaderboard: [],
      mean_hang_time_minutes_unresolved: null,
      mean_hang_time_minutes_all: null,
      mean_resolution_time_minutes: null,
    })
    // (2026-03-03 12:00, T0]: K, created exactly 7 days before, belongs to the previous week.
    expect(s.past_7d).toEqual({
      new_tickets_total: 9, // A B C D E F I P Q
      new_tickets_now_closed: 3, // D F Q
      new_tickets_still_open: 2, // C I
      new_tickets_in_progress: 2, // B P
      closed_today: 4, // D F Q R
      closed_today_from_today: 3,
      assigned_today_in_progress: 1,
      helpers_leaderboard: [
        { user_id: 'amy', count: 2 },
        { user_id: 'zoe', count: 2 },
      ],
      mean_hang_time_minutes_unresolved: 285,
      mean_hang_time_minutes_all: 225, // A B D E F P
      mean_resolution_time_minutes: 828, // A D E F Q
    })
    expect(s.past_7d_previous).toEqual({
      new_tickets_total: 2, // K, R
      new_tickets_now_closed: 1,
      new_tickets_still_open: 1,
      new_tickets_in_progress: 0,
      closed_today: 0,
      closed_today_from_today: 0,
      assigned_today_in_progress: 0,
      helpers_leaderboard: [],
      mean_hang_time_minutes_unresolved: null,
      mean_hang_time_minutes_all: 60,
      mean_resolution_time_minutes: 13560,
    })
  })

  it('v2 wraps it and links the v2 URL; the windows move with the clock', async () => {
    const res = await (at(T0), t.as('amy').get('/api/v2/app/tickets/stats'))
    expect(res.status).toBe(200)
    expect(res.body.meta.version).toBe('v2')
    expect(res.body.data.all_time.oldest_unanswered_ticket.link).toBe(`${PUBLIC_URL}/api/v2/app/tickets/${ids.K!.id}`)
    // One day later, P, A, B and Q are in the previous 24 hours; reopening Q takes it off the board.
    at('2026-03-11T12:00:00Z')
    expect((await t.as('amy').post(`${base}/${ids.Q!.id}/reopen`)).status).toBe(200)
    at('2026-03-11T12:00:00Z')
    const later = (await t.as('amy').get(`${base}/stats`)).body
    expect(later.past_24h.new_tickets_total).toBe(0)
    expect(later.past_24h_previous).toMatchObject({
      new_tickets_total: 4,
      new_tickets_now_closed: 0,
      new_tickets_still_open: 1, // Q, reopened
      closed_today: 1, // R
      helpers_leaderboard: [{ user_id: 'zoe', count: 1 }],
    })
    expect(later.all_time).toMatchObject({ tickets_closed: 5, tickets_open: 4 })
    expect(later.all_time.oldest_unanswered_ticket.age_minutes).toBe(8 * 24 * 60)
    // Put Q back as it was for the other tests.
    await t.app.db.sql`update tickets set status = 'closed', closed_at = ${new Date('2026-03-10T09:00:00Z')},
      resolved_at = created_at + ${`${qResolutionMs} milliseconds`}::interval, closed_by = 'amy' where id = ${ids.Q!.id}`
  })

  it('has no oldest unanswered ticket when every open ticket has an answer', async () => {
    const sql = t.app.db.sql
    const waiting = ['C', 'I', 'K'].map((n) => ids[n]!.id)
    await sql`update tickets set first_response_at = created_at where id = any(${waiting}::uuid[])`
    try {
      expect((await get('/stats')).body.all_time.oldest_unanswered_ticket).toBeNull()
    } finally {
      await sql`update tickets set first_response_at = null where id = any(${waiting}::uuid[])`
    }
    expect((await get('/stats')).body.all_time.oldest_unanswered_ticket.id).toBe(ids.K!.id)
  })
})

describe('leaderboard', () => {
  it('lists at most 10, most tickets first, ties by user id', async () => {
    // Eleven more closers, each with one ticket created and closed after T0.
    for (let i = 1; i <= 11; i++) {
      const u = `u${String(i).padStart(2, '0')}`
      await insert(`L${i}`, {
        created: '2027-01-01T00:00:00Z',
        status: 'closed',
        fr: '2027-01-01T00:10:00Z',
        resolved: '2027-01-01T01:00:00Z',
        closed: '2027-01-01T01:00:00Z',
        by: u,
      })
    }
    at('2027-01-01T12:00:00Z')
    const s = (await t.as('amy').get(`${base}/stats`)).body
    expect(s.all_time.helpers_leaderboard).toEqual([
      { user_id: 'zoe', count: 4 },
      { user_id: 'amy', count: 2 },
      ...['u01', 'u02', 'u03', 'u04', 'u05', 'u06', 'u07', 'u08'].map((user_id) => ({ user_id, count: 1 })),
    ])
    expect(s.past_24h.helpers_leaderboard).toHaveLength(10)
    expect(s.past_24h.helpers_leaderboard[9]).toEqual({ user_id: 'u10', count: 1 })
    expect(s.past_24h).toMatchObject({ new_tickets_total: 11, closed_today: 11, closed_today_from_today: 11 })
    // Before T0 they do not exist yet: the figures at T0 are unchanged.
    expect((await get('/stats')).body.all_time.tickets_total).toBe(13)
  })
})

describe('access', () => {
  const paths = ['/metrics/sla', '/metrics/resolution', '/metrics/daily', '/analytics/summary', '/stats']

  it('is for staff: requesters get 403, unauthenticated 401', async () => {
    for (const p of paths) {
      const res = await get(p, 'alice')
      expect(res.status).toBe(403)
      expect(res.body.error.code).toBe('AUTHORIZATION_ERROR')
      expect((await t.get(`${base}${p}`)).status).toBe(401)
      expect((await get(p, 'boss')).status).toBe(200)
    }
  })

  it('takes API keys with analytics:read of staff only', async () => {
    for (const p of paths) {
      expect((await t.get(`${base}${p}`, { headers: keyHeader('amy', 'analytics:read') })).status).toBe(200)
      const noScope = await t.get(`${base}${p}`, { headers: keyHeader('amy', 'tickets:read') })
      expect(noScope.status).toBe(403)
      expect(noScope.body.error.details.required).toBe('analytics:read')
      // A plain user's analytics key is still a requester's.
      expect((await t.get(`${base}${p}`, { headers: keyHeader('alice', 'analytics:read') })).status).toBe(403)
    }
  })

  it('does not collide with /tickets/{id}: static paths win, numbers still resolve', async () => {
    expect((await get('/stats')).body.all_time).toBeDefined()
    expect((await get('/metrics')).status).toBe(404) // no such ticket
    expect((await get(`/${ids.A!.number}`)).body.id).toBe(ids.A!.id)
  })
})

describe('validation', () => {
  it('answers 422 on days out of 1..365 or not an integer', async () => {
    for (const p of ['/metrics/sla', '/metrics/resolution', '/metrics/daily', '/analytics/summary']) {
      for (const days of ['0', '366', '-1', 'abc', '1.5', '', '1e2', '7%20']) {
        const res = await get(`${p}?days=${days}`)
        expect(res.status).toBe(422)
        expect(res.body.error.code).toBe('VALIDATION_ERROR')
        expect(res.body.error.details.field).toBe('days')
      }
      expect((await get(`${p}?days=365`)).status).toBe(200)
    }
  })
})

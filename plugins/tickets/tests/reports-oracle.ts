/**
 * The reports computed the slow, obvious way from the ticket rows (the definitions of
 * docs/plugins/tickets.md#reports, written again in TypeScript): the oracle that the rollup-based
 * reports (migration 0006) must match exactly, whatever the history and the clock.
 */
import type { Sql } from '../../../core/index.ts'

const MIN = 60_000
const DAY = 24 * 60 * MIN

export interface Row {
  created_at: Date
  status: string
  first_response_at: Date | null
  resolved_at: Date | null
  closed_at: Date | null
  closed_by: string | null
  first_response_due_at: Date | null
  resolution_due_at: Date | null
  deleted_at: Date | null
}

export const loadRows = (sql: Sql) =>
  sql<Row[]>`select created_at, status, first_response_at, resolved_at, closed_at, closed_by,
    first_response_due_at, resolution_due_at, deleted_at from tickets`

const ms = (d: Date | null) => (d === null ? null : d.getTime())
const ratio3 = (n: number) => Math.round(n * 1000) / 1000
const day = (t: number) => new Date(t).toISOString().slice(0, 10)

/** The tickets of the last `days` UTC days up to now, live only. */
function inDays(rows: Row[], now: Date, days: number) {
  const T = now.getTime()
  const from = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()) - (days - 1) * DAY
  const keys = Array.from({ length: days }, (_, i) => day(from + i * DAY))
  return { T, keys, rows: rows.filter((r) => !r.deleted_at && ms(r.created_at)! >= from && ms(r.created_at)! <= T) }
}

const breached = (r: Row, T: number) =>
  (r.first_response_due_at !== null && (ms(r.first_response_at) ?? T) > ms(r.first_response_due_at)!) ||
  (r.resolution_due_at !== null && (ms(r.resolved_at) ?? T) > ms(r.resolution_due_at)!)

export function sla(all: Row[], now: Date, days: number) {
  const { T, rows } = inDays(all, now, days)
  const withSla = rows.filter((r) => r.first_response_due_at !== null)
  const total = withSla.filter(
    (r) =>
      (r.first_response_at !== null || ms(r.first_response_due_at)! < T) &&
      (r.resolved_at !== null || (r.resolution_due_at !== null && ms(r.resolution_due_at)! < T)),
  ).length
  const met = withSla.filter(
    (r) =>
      r.first_response_at !== null &&
      ms(r.first_response_at)! <= ms(r.first_response_due_at)! &&
      r.resolved_at !== null &&
      r.resolution_due_at !== null &&
      ms(r.resolved_at)! <= ms(r.resolution_due_at)!,
  ).length
  return { total, met, sla_attainment: total > 0 ? ratio3(met / total) : null }
}

export function daily(all: Row[], now: Date, days: number) {
  const { keys, rows } = inDays(all, now, days)
  return { daily: keys.map((k) => ({ day: k, count: rows.filter((r) => day(ms(r.created_at)!) === k).length })) }
}

export function summary(all: Row[], now: Date, days: number) {
  const { T, keys, rows } = inDays(all, now, days)
  const rollups = keys.reverse().map((k) => {
    const of = rows.filter((r) => day(ms(r.created_at)!) === k)
    return {
      day: k,
      total: of.length,
      sla_breached: of.filter((r) => breached(r, T)).length,
      sla_total: of.filter((r) => r.first_response_due_at !== null).length,
    }
  })
  const sum = (k: 'total' | 'sla_breached' | 'sla_total') => rollups.reduce((n, r) => n + r[k], 0)
  const slaTotal = sum('sla_total')
  return {
    days,
    tickets: sum('total'),
    sla_breached: sum('sla_breached'),
    sla_total: slaTotal,
    sla_compliance_ratio: slaTotal > 0 ? ratio3(1 - sum('sla_breached') / slaTotal) : null,
    rollups,
  }
}

const BUCKETS = {
  past_24h: [0],
  past_24h_previous: [1],
  past_7d: [0, 1, 2],
  past_7d_previous: [3],
  all_time: [0, 1, 2, 3, 4],
} as const

/** StatsV2 without `assigned_today_in_progress` and `oldest_unanswered_ticket` (not from rollups). */
export function stats(all: Row[], now: Date) {
  const T = now.getTime()
  const bucket = (t: number) =>
    t > T ? -1 : t > T - DAY ? 0 : t > T - 2 * DAY ? 1 : t > T - 7 * DAY ? 2 : t > T - 14 * DAY ? 3 : 4
  const live = all.filter((r) => !r.deleted_at)
  const figures = (name: keyof typeof BUCKETS) => {
    const w: readonly number[] = BUCKETS[name]
    const created = live.filter((r) => w.includes(bucket(ms(r.created_at)!)))
    const closed = live.filter((r) => r.closed_at !== null && w.includes(bucket(ms(r.closed_at)!)))
    const board = new Map<string, number>()
    for (const r of closed) if (r.closed_by !== null) board.set(r.closed_by, (board.get(r.closed_by) ?? 0) + 1)
    const mean = (of: Row[], end: (r: Row) => Date | null) => {
      const xs = of.filter((r) => end(r) !== null)
      const sumMs = xs.reduce((n, r) => n + ms(end(r))! - ms(r.created_at)!, 0)
      return xs.length > 0 ? Math.round(((sumMs * 1000) / 1e6 / xs.length / 60) * 100) / 100 : null
    }
    const unresolved = created.filter((r) => !['resolved', 'closed'].includes(r.status))
    return {
      created,
      closed,
      leaderboard: [...board]
        .map(([user_id, count]) => ({ user_id, count }))
        .sort((a, b) => b.count - a.count || (a.user_id < b.user_id ? -1 : 1))
        .slice(0, 10),
      means: {
        mean_hang_time_minutes_unresolved: mean(unresolved, (r) => r.first_response_at),
        mean_hang_time_minutes_all: mean(created, (r) => r.first_response_at),
        mean_resolution_time_minutes: mean(created, (r) => r.resolved_at),
      },
      fromToday: closed.filter((r) => w.includes(bucket(ms(r.created_at)!))).length,
    }
  }
  const count = (rows: Row[], status: string) => rows.filter((r) => r.status === status).length
  const window = (name: Exclude<keyof typeof BUCKETS, 'all_time'>) => {
    const f = figures(name)
    return {
      new_tickets_total: f.created.length,
      new_tickets_now_closed: count(f.created, 'closed'),
      new_tickets_still_open: count(f.created, 'open'),
      new_tickets_in_progress: count(f.created, 'in_progress'),
      closed_today: f.closed.length,
      closed_today_from_today: f.fromToday,
      helpers_leaderboard: f.leaderboard,
      ...f.means,
    }
  }
  const a = figures('all_time')
  return {
    all_time: {
      tickets_total: a.created.length,
      tickets_open: count(a.created, 'open'),
      tickets_closed: count(a.created, 'closed'),
      tickets_in_progress: count(a.created, 'in_progress'),
      helpers_leaderboard: a.leaderboard,
      ...a.means,
    },
    past_24h: window('past_24h'),
    past_24h_previous: window('past_24h_previous'),
    past_7d: window('past_7d'),
    past_7d_previous: window('past_7d_previous'),
  }
}

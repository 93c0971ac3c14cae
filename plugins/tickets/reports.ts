/**
 * Ticket reports (docs/plugins/tickets.md#reports): SLA attainment, resolution times, tickets per
 * day, the analytics summary and StatsV2. Every figure is an aggregate computed by PostgreSQL over
 * the covering indexes of migration 0003 (a few statements per report); no ticket row reaches
 * this process. Plain values in and out.
 */
import type { Sql } from '../../core/index.ts'
import type { ReportModel } from './report-routes.ts'

export interface ReportsDeps {
  sql: Sql
  /** The plugin's clock: every window is measured from it. */
  now: () => Date
  /** PUBLIC_URL: `oldest_unanswered_ticket.link` is the ticket's API URL under it. */
  publicUrl: string
}

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR
/** Leaderboards list this many users at most, most tickets closed first. */
export const LEADERBOARD_SIZE = 10
const WINDOWS = ['past_24h', 'past_24h_previous', 'past_7d', 'past_7d_previous'] as const
type WindowName = (typeof WINDOWS)[number] | 'all_time'

const ratio = (part: number, total: number) => (total > 0 ? Math.round((part / total) * 1000) / 1000 : null)
const round2 = (n: number | null) => (n === null ? null : Math.round(n * 100) / 100)
const roundMs = (n: number | null) => (n === null ? null : Math.round(n))
const dayKey = (ms: number) => new Date(ms).toISOString().slice(0, 10)

/**
 * The last `days` UTC days, today included: from 00:00 UTC of the first day to now. `keys` are
 * the days, oldest first.
 */
export function dayWindow(now: Date, days: number) {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate())
  const first = today - (days - 1) * DAY
  return { from: new Date(first), keys: Array.from({ length: days }, (_, i) => dayKey(first + i * DAY)) }
}

/** StatsV2's rolling windows, each `(lo, hi]`: the last 24 hours, the 24 before, the last 7 days, the 7 before. */
function rollingWindows(now: Date): { name: (typeof WINDOWS)[number]; lo: Date; hi: Date }[] {
  const at = now.getTime()
  const span = (name: (typeof WINDOWS)[number], ms: number, back: number) => ({
    name,
    lo: new Date(at - ms * (back + 1)),
    hi: new Date(at - ms * back),
  })
  return [
    span('past_24h', DAY, 0),
    span('past_24h_previous', DAY, 1),
    span('past_7d', 7 * DAY, 0),
    span('past_7d_previous', 7 * DAY, 1),
  ]
}

export function createReports(d: ReportsDeps) {
  const { sql } = d
  const base = d.publicUrl.replace(/\/+$/, '')

  /**
   * `(name, lo, hi)` rows of the windows, as a VALUES list: joined to the tickets, each window is
   * one range scan of an index (PostgreSQL runs a nested loop over the five rows).
   */
  const windowValues = (rows: { name: string; lo: Date | null; hi: Date }[]) =>
    rows
      .map((w) => sql`(${w.name}::text, ${w.lo === null ? sql`'-infinity'` : w.lo}::timestamptz, ${w.hi}::timestamptz)`)
      .reduce((acc, v) => sql`${acc}, ${v}`)

  /** A target is breached when it was met late, or is still unmet past its due time (service.ts `breached`). */
  const breached = (now: Date) => sql`(
      (first_response_due_at is not null and coalesce(first_response_at, ${now}) > first_response_due_at)
      or (resolution_due_at is not null and coalesce(resolved_at, ${now}) > resolution_due_at))`

  return {
    /**
     * Tickets created in the last `days` UTC days whose two targets are both decided (each met,
     * or breached: met late or past due unmet), and how many met both. Tickets with a target
     * still running are left out until it is decided (as the queue stats count them).
     */
    async sla(days: number): Promise<ReportModel.sla> {
      const now = d.now()
      const { from } = dayWindow(now, days)
      const [r] = await sql<{ total: number; met: number }[]>`
        select
          count(*) filter (where (first_response_at is not null or first_response_due_at < ${now})
            and (resolved_at is not null or resolution_due_at < ${now}))::int as total,
          count(*) filter (where first_response_at <= first_response_due_at and resolved_at <= resolution_due_at)::int as met
        from tickets
        where deleted_at is null and created_at >= ${from} and created_at <= ${now} and first_response_due_at is not null`
      return { total: r!.total, met: r!.met, sla_attainment: ratio(r!.met, r!.total) }
    },

    /** Resolution time (resolved_at - created_at) of the tickets created in the last `days` UTC days and resolved. */
    async resolution(days: number): Promise<ReportModel.resolution> {
      const now = d.now()
      const { from } = dayWindow(now, days)
      const [r] = await sql<{ count: number; avg_ms: number | null; median_ms: number | null }[]>`
        select count(*)::int as count,
          avg(extract(epoch from resolved_at - created_at)::float8) * 1000 as avg_ms,
          percentile_cont(0.5) within group (order by extract(epoch from resolved_at - created_at)::float8) * 1000 as median_ms
        from tickets
        where deleted_at is null and created_at >= ${from} and created_at <= ${now} and resolved_at is not null`
      return { avg_resolution_ms: roundMs(r!.avg_ms), median_resolution_ms: roundMs(r!.median_ms), count: r!.count }
    },

    /** Tickets created per UTC day, the last `days` days (today included), oldest first, zero-filled. */
    async daily(days: number): Promise<ReportModel.daily> {
      const now = d.now()
      const { from, keys } = dayWindow(now, days)
      const rows = await sql<{ day: string; count: number }[]>`
        select to_char((created_at at time zone 'UTC')::date, 'YYYY-MM-DD') as day, count(*)::int as count
        from tickets where deleted_at is null and created_at >= ${from} and created_at <= ${now}
        group by 1`
      const by = new Map(rows.map((r) => [r.day, r.count]))
      return { daily: keys.map((day) => ({ day, count: by.get(day) ?? 0 })) }
    },

    /**
     * Seed 000's summary of the last `days` UTC days: tickets, those with an SLA (`sla_total`),
     * those that breached a target, `1 - breached / total` rounded to three decimals, and a
     * rollup per day, newest first, zero-filled.
     */
    async summary(days: number): Promise<ReportModel.summary> {
      const now = d.now()
      const { from, keys } = dayWindow(now, days)
      const rows = await sql<{ day: string; total: number; sla_total: number; sla_breached: number }[]>`
        select to_char((created_at at time zone 'UTC')::date, 'YYYY-MM-DD') as day, count(*)::int as total,
          count(*) filter (where first_response_due_at is not null)::int as sla_total,
          count(*) filter (where ${breached(now)})::int as sla_breached
        from tickets where deleted_at is null and created_at >= ${from} and created_at <= ${now}
        group by 1`
      const by = new Map(rows.map((r) => [r.day, r]))
      const rollups = keys.reverse().map((day) => {
        const r = by.get(day)
        return { day, total: r?.total ?? 0, sla_breached: r?.sla_breached ?? 0, sla_total: r?.sla_total ?? 0 }
      })
      let tickets = 0
      let slaTotal = 0
      let slaBreached = 0
      for (const r of rollups) {
        tickets += r.total
        slaTotal += r.sla_total
        slaBreached += r.sla_breached
      }
      return {
        days,
        tickets,
        sla_breached: slaBreached,
        sla_total: slaTotal,
        sla_compliance_ratio: slaTotal > 0 ? Math.round((1 - slaBreached / slaTotal) * 1000) / 1000 : null,
        rollups,
      }
    },

    /**
     * Seed 002's StatsV2. Windows roll from now. Four statements: tickets created per window
     * (all time included), tickets closed per window and by whom, assignments per window, and
     * the oldest unanswered ticket. `version` picks the API version of the ticket link.
     */
    async stats(version: string): Promise<ReportModel.stats> {
      const now = d.now()
      const rolling = rollingWindows(now)
      const all = [...rolling, { name: 'all_time' as const, lo: null, hi: now }]
      const [created, closed, assigned, oldest] = await Promise.all([
        sql<
          {
            name: WindowName
            total: number
            open: number
            in_progress: number
            closed: number
            hang_unresolved: number | null
            hang_all: number | null
            resolution: number | null
          }[]
        >`
          with w(name, lo, hi) as (values ${windowValues(all)})
          select w.name, count(*)::int as total,
            count(*) filter (where t.status = 'open')::int as open,
            count(*) filter (where t.status = 'in_progress')::int as in_progress,
            count(*) filter (where t.status = 'closed')::int as closed,
            avg(extract(epoch from t.first_response_at - t.created_at)::float8 / 60)
              filter (where t.first_response_at is not null and t.status not in ('resolved', 'closed')) as hang_unresolved,
            avg(extract(epoch from t.first_response_at - t.created_at)::float8 / 60)
              filter (where t.first_response_at is not null) as hang_all,
            avg(extract(epoch from t.resolved_at - t.created_at)::float8 / 60)
              filter (where t.resolved_at is not null) as resolution
          from w join tickets t on t.deleted_at is null and t.created_at > w.lo and t.created_at <= w.hi
          group by w.name`,
        sql<{ name: WindowName; closed_by: string | null; closed: number; from_window: number }[]>`
          with w(name, lo, hi) as (values ${windowValues(all)})
          select w.name, t.closed_by, count(*)::int as closed,
            count(*) filter (where t.created_at > w.lo and t.created_at <= w.hi)::int as from_window
          from w join tickets t on t.deleted_at is null and t.closed_at is not null
            and t.closed_at > w.lo and t.closed_at <= w.hi
          group by w.name, t.closed_by`,
        // An assignment is an activity row whose changes name an assignee: `assigned` and
        // `updated` record {from, to}, `created` (a queue's default assignee) the id itself.
        sql<{ name: WindowName; n: number }[]>`
          with w(name, lo, hi) as (values ${windowValues(rolling)})
          select w.name, count(distinct a.ticket_id)::int as n
          from w join ticket_activity a on a.changes ? 'assignee_id' and a.created_at > w.lo and a.created_at <= w.hi
          join tickets t on t.id = a.ticket_id
          where t.deleted_at is null and t.status = 'in_progress'
            and (case when a.action = 'created' then a.changes->>'assignee_id' else a.changes->'assignee_id'->>'to' end) is not null
          group by w.name`,
        sql<{ id: string; number: number; created_at: Date }[]>`
          select id, number, created_at from tickets
          where deleted_at is null and first_response_at is null and status not in ('resolved', 'closed')
          order by created_at, id limit 1`,
      ])

      const createdBy = new Map(created.map((r) => [r.name, r]))
      const closedBy = new Map<WindowName, { closed: number; fromWindow: number; board: Map<string, number> }>()
      for (const r of closed) {
        const c = closedBy.get(r.name) ?? { closed: 0, fromWindow: 0, board: new Map() }
        c.closed += r.closed
        c.fromWindow += r.from_window
        if (r.closed_by !== null) c.board.set(r.closed_by, (c.board.get(r.closed_by) ?? 0) + r.closed)
        closedBy.set(r.name, c)
      }
      const leaderboard = (name: WindowName) =>
        [...(closedBy.get(name)?.board ?? new Map<string, number>())]
          .map(([user_id, count]) => ({ user_id, count }))
          .sort((a, b) => b.count - a.count || (a.user_id < b.user_id ? -1 : 1))
          .slice(0, LEADERBOARD_SIZE)
      const means = (name: WindowName) => {
        const c = createdBy.get(name)
        return {
          mean_hang_time_minutes_unresolved: round2(c?.hang_unresolved ?? null),
          mean_hang_time_minutes_all: round2(c?.hang_all ?? null),
          mean_resolution_time_minutes: round2(c?.resolution ?? null),
        }
      }
      const window = (name: (typeof WINDOWS)[number]): ReportModel.window => {
        const c = createdBy.get(name)
        const k = closedBy.get(name)
        return {
          new_tickets_total: c?.total ?? 0,
          new_tickets_now_closed: c?.closed ?? 0,
          new_tickets_still_open: c?.open ?? 0,
          new_tickets_in_progress: c?.in_progress ?? 0,
          closed_today: k?.closed ?? 0,
          closed_today_from_today: k?.fromWindow ?? 0,
          assigned_today_in_progress: assigned.find((a) => a.name === name)?.n ?? 0,
          helpers_leaderboard: leaderboard(name),
          ...means(name),
        }
      }
      const a = createdBy.get('all_time')
      const o = oldest[0]
      return {
        all_time: {
          tickets_total: a?.total ?? 0,
          tickets_open: a?.open ?? 0,
          tickets_closed: a?.closed ?? 0,
          tickets_in_progress: a?.in_progress ?? 0,
          helpers_leaderboard: leaderboard('all_time'),
          ...means('all_time'),
          oldest_unanswered_ticket: o
            ? {
                id: o.id,
                number: o.number,
                created_at: o.created_at.toISOString(),
                age_minutes: Math.max(0, Math.floor((now.getTime() - o.created_at.getTime()) / MINUTE)),
                link: `${base}/api/${version}/app/tickets/${o.id}`,
              }
            : null,
        },
        past_24h: window('past_24h'),
        past_24h_previous: window('past_24h_previous'),
        past_7d: window('past_7d'),
        past_7d_previous: window('past_7d_previous'),
      }
    },
  }
}

export type Reports = ReturnType<typeof createReports>

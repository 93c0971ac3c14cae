/**
 * Ticket reports (docs/plugins/tickets.md#reports): SLA attainment, resolution times, tickets per
 * day, the analytics summary and StatsV2. Every figure is an aggregate computed by PostgreSQL over
 * the covering indexes of migration 0003 (a few statements per report); no ticket row reaches
 * this process. Plain values in and out.
 */
import type { Sql } from '../../core/index.ts'
import { LEADERBOARD_SIZE, type ReportModel } from './report-model.ts'

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
const WINDOWS = ['past_24h', 'past_24h_previous', 'past_7d', 'past_7d_previous'] as const
type WindowName = (typeof WINDOWS)[number] | 'all_time'

/** The buckets of time before now (0: the last 24 h, 1: the 24 h before, 2: the rest of the last 7 days, 3: the 7 days before, 4: older) each window adds up. */
const BUCKETS: Record<WindowName, number[]> = {
  past_24h: [0],
  past_24h_previous: [1],
  past_7d: [0, 1, 2],
  past_7d_previous: [3],
  all_time: [0, 1, 2, 3, 4],
}

/** Tickets created in one bucket: counts, and sums of seconds (`s_`) over `n_` tickets for the means. */
interface CreatedBucket {
  b: number
  total: number
  open: number
  in_progress: number
  closed: number
  n_hang_unresolved: number
  s_hang_unresolved: number | null
  n_hang: number
  s_hang: number | null
  n_resolution: number
  s_resolution: number | null
}

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
   * The UTC day of created_at as days since 1970-01-01: float arithmetic, a third cheaper per row
   * than formatting a date (1,000,000 rows: 1.0 s against 1.5 s on a loaded machine).
   */
  /** Counts, and sums of seconds over how many tickets for the means, of the tickets selected (CreatedBucket). */
  const createdFigures = () => sql`count(*)::int as total,
    count(*) filter (where status = 'open')::int as open,
    count(*) filter (where status = 'in_progress')::int as in_progress,
    count(*) filter (where status = 'closed')::int as closed,
    count(first_response_at) filter (where status not in ('resolved', 'closed'))::int as n_hang_unresolved,
    sum(date_part('epoch', first_response_at - created_at)) filter (where status not in ('resolved', 'closed'))
      as s_hang_unresolved,
    count(first_response_at)::int as n_hang,
    sum(date_part('epoch', first_response_at - created_at)) as s_hang,
    count(resolved_at)::int as n_resolution,
    sum(date_part('epoch', resolved_at - created_at)) as s_resolution`
  const utcDay = () => sql`floor(date_part('epoch', created_at) / 86400)::int`

  /**
   * `(name, lo, hi)` rows of the windows, as a VALUES list: joined to the tickets, each window is
   * one range scan of an index (PostgreSQL runs a nested loop over the five rows).
   */
  const windowValues = (rows: { name: string; lo: Date; hi: Date }[]) =>
    rows
      .map((w) => sql`(${w.name}::text, ${w.lo}::timestamptz, ${w.hi}::timestamptz)`)
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
          avg(date_part('epoch', resolved_at - created_at)) * 1000 as avg_ms,
          percentile_cont(0.5) within group (order by date_part('epoch', resolved_at - created_at)) * 1000 as median_ms
        from tickets
        where deleted_at is null and created_at >= ${from} and created_at <= ${now} and resolved_at is not null`
      return { avg_resolution_ms: roundMs(r!.avg_ms), median_resolution_ms: roundMs(r!.median_ms), count: r!.count }
    },

    /** Tickets created per UTC day, the last `days` days (today included), oldest first, zero-filled. */
    async daily(days: number): Promise<ReportModel.daily> {
      const now = d.now()
      const { from, keys } = dayWindow(now, days)
      const rows = await sql<{ day: number; count: number }[]>`
        select ${utcDay()} as day, count(*)::int as count
        from tickets where deleted_at is null and created_at >= ${from} and created_at <= ${now}
        group by 1`
      const by = new Map(rows.map((r) => [dayKey(r.day * DAY), r.count]))
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
      const rows = await sql<{ day: number; total: number; sla_total: number; sla_breached: number }[]>`
        select ${utcDay()} as day, count(*)::int as total,
          count(*) filter (where first_response_due_at is not null)::int as sla_total,
          count(*) filter (where ${breached(now)})::int as sla_breached
        from tickets where deleted_at is null and created_at >= ${from} and created_at <= ${now}
        group by 1`
      const by = new Map(rows.map((r) => [dayKey(r.day * DAY), r]))
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
     * Seed 002's StatsV2. Windows roll from now. Five statements, run together: tickets created
     * before the windows and in them, tickets closed and by whom, assignments per window, and the
     * oldest unanswered ticket. `version` picks the API version of the ticket link.
     */
    async stats(version: string): Promise<ReportModel.stats> {
      const now = d.now()
      const rolling = rollingWindows(now)
      const at = now.getTime()
      // Each ticket is read once, not once per window: it falls in one of five disjoint buckets
      // (0: the last 24 h, 1: the 24 h before, 2: the rest of the last 7 days, 3: the 7 days
      // before, 4: older), and each window adds up its buckets (BUCKETS).
      const bucket = (column: ReturnType<typeof sql>) => sql`case when ${column} > ${new Date(at - DAY)} then 0
        when ${column} > ${new Date(at - 2 * DAY)} then 1 when ${column} > ${new Date(at - 7 * DAY)} then 2
        when ${column} > ${new Date(at - 14 * DAY)} then 3 else 4 end`
      const [older, recent, closed, assigned, oldest] = await Promise.all([
        // Older than the windows (bucket 4): one aggregate without grouping, which PostgreSQL
        // runs on parallel workers; grouping by bucket costs about twice as much per row.
        sql<CreatedBucket[]>`select 4 as b, ${createdFigures()}
          from tickets where deleted_at is null and created_at <= ${new Date(at - 14 * DAY)}`,
        // The 14 days of the windows, by bucket (0-3).
        sql<CreatedBucket[]>`select ${bucket(sql`created_at`)} as b, ${createdFigures()}
          from tickets where deleted_at is null and created_at <= ${now} and created_at > ${new Date(at - 14 * DAY)}
          group by 1`,
        sql<{ b: number; cb: number; closed_by: string | null; n: number }[]>`
          select ${bucket(sql`closed_at`)} as b, ${bucket(sql`created_at`)} as cb, closed_by, count(*)::int as n
          from tickets where deleted_at is null and closed_at is not null and closed_at <= ${now}
          group by 1, 2, 3`,
        // An assignment is an activity row whose changes name an assignee: `assigned` and
        // `updated` record {from, to}, `created` (a queue's default assignee) the id itself. A
        // ticket assigned twice in a window counts once, so this one joins the windows.
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

      const created = [...older, ...recent]
      const sumOf = (name: WindowName, key: Exclude<keyof CreatedBucket, 'b'>) =>
        created.reduce((n, r) => (BUCKETS[name].includes(r.b) ? n + Number(r[key] ?? 0) : n), 0)
      const mean = (name: WindowName, key: 'hang_unresolved' | 'hang' | 'resolution') => {
        const n = sumOf(name, `n_${key}`)
        return n > 0 ? round2(sumOf(name, `s_${key}`) / n / 60) : null
      }
      const means = (name: WindowName) => ({
        mean_hang_time_minutes_unresolved: mean(name, 'hang_unresolved'),
        mean_hang_time_minutes_all: mean(name, 'hang'),
        mean_resolution_time_minutes: mean(name, 'resolution'),
      })
      const closedIn = (name: WindowName) => closed.filter((r) => BUCKETS[name].includes(r.b))
      const leaderboard = (name: WindowName) => {
        const board = new Map<string, number>()
        for (const r of closedIn(name))
          if (r.closed_by !== null) board.set(r.closed_by, (board.get(r.closed_by) ?? 0) + r.n)
        return [...board]
          .map(([user_id, count]) => ({ user_id, count }))
          .sort((a, b) => b.count - a.count || (a.user_id < b.user_id ? -1 : 1))
          .slice(0, LEADERBOARD_SIZE)
      }
      const window = (name: (typeof WINDOWS)[number]): ReportModel.window => {
        const k = closedIn(name)
        return {
          new_tickets_total: sumOf(name, 'total'),
          new_tickets_now_closed: sumOf(name, 'closed'),
          new_tickets_still_open: sumOf(name, 'open'),
          new_tickets_in_progress: sumOf(name, 'in_progress'),
          closed_today: k.reduce((n, r) => n + r.n, 0),
          closed_today_from_today: k.reduce((n, r) => (BUCKETS[name].includes(r.cb) ? n + r.n : n), 0),
          assigned_today_in_progress: assigned.find((a) => a.name === name)?.n ?? 0,
          helpers_leaderboard: leaderboard(name),
          ...means(name),
        }
      }
      const o = oldest[0]
      return {
        all_time: {
          tickets_total: sumOf('all_time', 'total'),
          tickets_open: sumOf('all_time', 'open'),
          tickets_closed: sumOf('all_time', 'closed'),
          tickets_in_progress: sumOf('all_time', 'in_progress'),
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

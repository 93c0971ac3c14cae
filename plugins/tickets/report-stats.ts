/**
 * Seed 002's StatsV2 (docs/plugins/tickets.md#reports) from the rollups of migration
 * 0006_report_rollups.sql: whole hours from the rollup rows, the hours that hold a window
 * boundary exactly from the tickets, older history as the all-time totals minus the recent hours.
 * The work is bounded by the 14 days of the windows, not by the number of tickets.
 */
import type { Sql } from '../../core/index.ts'
import {
  DAY,
  edgeHours,
  FIGURES,
  type Fragment,
  closedInEdgeHours,
  hourOf,
  inEdgeHours,
  MINUTE,
  ticketFigures,
} from './report-hours.ts'
import { LEADERBOARD_SIZE, type ReportModel } from './report-model.ts'

const WINDOWS = ['past_24h', 'past_24h_previous', 'past_7d', 'past_7d_previous'] as const
type WindowName = (typeof WINDOWS)[number] | 'all_time'

/**
 * The buckets of time before now each window adds up. An instant after now is bucket -1 (in no
 * window); before now, 0: the last 24 h, 1: the 24 h before, 2: the rest of the last 7 days, 3:
 * the 7 days before, 4: older. Windows are `(start, end]`.
 */
const BUCKETS: Record<WindowName, number[]> = {
  past_24h: [0],
  past_24h_previous: [1],
  past_7d: [0, 1, 2],
  past_7d_previous: [3],
  all_time: [0, 1, 2, 3, 4],
}

type Figure = (typeof FIGURES)[number]
/** Tickets created in one bucket: counts, and sums of microseconds (`s_`) over `n_` tickets. */
type CreatedBucket = { b: number } & Record<Figure, number>

const round2 = (n: number | null) => (n === null ? null : Math.round(n * 100) / 100)

export function createStats(d: { sql: Sql; publicUrl: string }) {
  const { sql } = d
  const base = d.publicUrl.replace(/\/+$/, '')

  return async function stats(now: Date, version: string): Promise<ReportModel.stats> {
    const at = now.getTime()
    const [b1, b2, b3, b4] = [DAY, 2 * DAY, 7 * DAY, 14 * DAY].map((ms) => new Date(at - ms)) as [
      Date,
      Date,
      Date,
      Date,
    ]
    const edges = edgeHours([now, b1, b2, b3, b4])
    // Rollup rows from the hour of the oldest boundary on; everything before it is in bucket 4.
    const h4 = hourOf(b4)
    const bucket = (column: Fragment) => sql`case when ${column} > ${now} then -1
      when ${column} > ${b1} then 0 when ${column} > ${b2} then 1
      when ${column} > ${b3} then 2 when ${column} > ${b4} then 3 else 4 end`
    const sums = (prefix: string) => sql.unsafe(FIGURES.map((f) => `sum(${prefix}${f}) as ${f}`).join(', '))
    const columns = sql.unsafe(FIGURES.join(', '))
    // Before h4: the all-time totals minus every hour from h4 on (future hours included).
    const older = sql.unsafe(FIGURES.map((f) => `coalesce(a.${f}, 0) - coalesce(r.${f}, 0) as ${f}`).join(', '))

    const [created, closes, pairs, assigned, oldest] = await Promise.all([
      sql<CreatedBucket[]>`select b, ${sums('')} from (
          select ${bucket(sql`hour`)} as b, ${columns} from ticket_report_created
          where hour >= ${h4} and hour <> all(${edges}::timestamptz[])
          union all
          select ${bucket(sql`t.created_at`)} as b, ${ticketFigures(sql)}
          from ${inEdgeHours(sql, edges)} where t.deleted_at is null
          union all
          select 4 as b, ${older}
          from (select ${sums('')} from ticket_report_totals) a,
            (select ${sums('')} from ticket_report_created where hour >= ${h4}) r
        ) x where b >= 0 group by b`,
      // Closes by bucket of close time and closer ('' for none).
      sql<{ b: number; closed_by: string; n: number }[]>`select b, closed_by, sum(n)::int as n from (
          select ${bucket(sql`hour`)} as b, closed_by, n from ticket_report_closes
          where hour >= ${h4} and hour <> all(${edges}::timestamptz[])
          union all
          select ${bucket(sql`t.closed_at`)} as b, coalesce(t.closed_by, '') as closed_by, 1 as n
          from ${closedInEdgeHours(sql, edges)}
          union all
          select 4 as b, a.closed_by, a.n - coalesce(r.n, 0) as n from ticket_report_closer_totals a
          left join (select closed_by, sum(n) as n from ticket_report_closes where hour >= ${h4} group by 1) r
            using (closed_by)
        ) x where b >= 0 group by 1, 2 having sum(n) <> 0`,
      // Closes by bucket of close time and of creation (closed_today_from_today): only buckets
      // 0-3 pair up in a window, so only hours from h4 on count.
      sql<{ cb: number; b: number; n: number }[]>`select cb, b, sum(n)::int as n from (
          select ${bucket(sql`hour`)} as cb, ${bucket(sql`created_hour`)} as b, n from ticket_report_closed_created
          where hour >= ${h4} and created_hour >= ${h4}
            and hour <> all(${edges}::timestamptz[]) and created_hour <> all(${edges}::timestamptz[])
          union all
          select ${bucket(sql`t.closed_at`)}, ${bucket(sql`t.created_at`)}, 1
          from ${closedInEdgeHours(sql, edges)}
          union all
          select ${bucket(sql`t.closed_at`)}, ${bucket(sql`t.created_at`)}, 1
          from ${inEdgeHours(sql, edges)} where t.deleted_at is null and t.closed_at is not null
            and tickets_report_hour(t.closed_at) <> all(${edges}::timestamptz[])
        ) x where cb between 0 and 3 and b between 0 and 3 group by 1, 2`,
      // An assignment is an activity row whose changes name an assignee: `assigned` and
      // `updated` record {from, to}, `created` (a queue's default assignee) the id itself. A
      // ticket assigned twice in a window counts once. Each assigned ticket is then looked up by
      // id (`offset 0` keeps it a lookup: joined, PostgreSQL read every in-progress ticket).
      sql<{ name: WindowName; n: number }[]>`
          with w(name, lo, hi) as (values ${windowValues(sql, now)}),
          assigned as (
            select distinct w.name, a.ticket_id
            from w join ticket_activity a on a.changes ? 'assignee_id' and a.created_at > w.lo and a.created_at <= w.hi
            where (case when a.action = 'created' then a.changes->>'assignee_id'
              else a.changes->'assignee_id'->>'to' end) is not null)
          select s.name, count(*)::int as n from assigned s
          cross join lateral (select 1 from tickets t where t.id = s.ticket_id
            and t.deleted_at is null and t.status = 'in_progress' offset 0) t
          group by s.name`,
      sql<{ id: string; number: number; created_at: Date }[]>`
          select id, number, created_at from tickets
          where deleted_at is null and first_response_at is null and status not in ('resolved', 'closed')
          order by created_at, id limit 1`,
    ])

    const sumOf = (name: WindowName, key: Figure) =>
      created.reduce((n, r) => (BUCKETS[name].includes(r.b) ? n + Number(r[key] ?? 0) : n), 0)
    const mean = (name: WindowName, key: 'hang_unresolved' | 'hang' | 'resolution') => {
      const n = sumOf(name, `n_${key}`)
      return n > 0 ? round2(sumOf(name, `s_${key}`) / 1e6 / n / 60) : null
    }
    const means = (name: WindowName) => ({
      mean_hang_time_minutes_unresolved: mean(name, 'hang_unresolved'),
      mean_hang_time_minutes_all: mean(name, 'hang'),
      mean_resolution_time_minutes: mean(name, 'resolution'),
    })
    const closedIn = (name: WindowName) => closes.filter((r) => BUCKETS[name].includes(r.b))
    const leaderboard = (name: WindowName) => {
      const board = new Map<string, number>()
      for (const r of closedIn(name))
        if (r.closed_by !== '') board.set(r.closed_by, (board.get(r.closed_by) ?? 0) + r.n)
      return [...board]
        .filter(([, count]) => count > 0)
        .map(([user_id, count]) => ({ user_id, count }))
        .sort((a, b) => b.count - a.count || (a.user_id < b.user_id ? -1 : 1))
        .slice(0, LEADERBOARD_SIZE)
    }
    const window = (name: (typeof WINDOWS)[number]): ReportModel.window => {
      const inWindow = BUCKETS[name]
      return {
        new_tickets_total: sumOf(name, 'total'),
        new_tickets_now_closed: sumOf(name, 'closed'),
        new_tickets_still_open: sumOf(name, 'open'),
        new_tickets_in_progress: sumOf(name, 'in_progress'),
        closed_today: closedIn(name).reduce((n, r) => n + r.n, 0),
        closed_today_from_today: pairs.reduce(
          (n, r) => (inWindow.includes(r.cb) && inWindow.includes(r.b) ? n + r.n : n),
          0,
        ),
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
              age_minutes: Math.max(0, Math.floor((at - o.created_at.getTime()) / MINUTE)),
              link: `${base}/api/${version}/app/tickets/${o.id}`,
            }
          : null,
      },
      past_24h: window('past_24h'),
      past_24h_previous: window('past_24h_previous'),
      past_7d: window('past_7d'),
      past_7d_previous: window('past_7d_previous'),
    }
  }
}

/** StatsV2's rolling windows as a VALUES list of `(name, lo, hi)`, each window `(lo, hi]`. */
function windowValues(sql: Sql, now: Date) {
  const at = now.getTime()
  const span = (name: (typeof WINDOWS)[number], ms: number, back: number) =>
    sql`(${name}::text, ${new Date(at - ms * (back + 1))}::timestamptz, ${new Date(at - ms * back)}::timestamptz)`
  return [
    span('past_24h', DAY, 0),
    span('past_24h_previous', DAY, 1),
    span('past_7d', 7 * DAY, 0),
    span('past_7d_previous', 7 * DAY, 1),
  ].reduce((acc, v) => sql`${acc}, ${v}`)
}

/**
 * Hour arithmetic of the report rollups (docs/plugins/tickets.md#reports, migration
 * 0006_report_rollups.sql): rollup rows are keyed by UTC hour, windows are not hour-aligned, so
 * a report sums the whole hours from the rollups and reads the tickets of its few edge hours
 * (the hours that hold a window boundary) exactly. Plain values and SQL fragments.
 */
import type { Sql } from '../../core/index.ts'

/** A piece of SQL built by the tagged template (or sql.unsafe), to interpolate in another. */
export type Fragment = ReturnType<Sql['unsafe']>

export const MINUTE = 60_000
export const HOUR = 60 * MINUTE
export const DAY = 24 * HOUR

/** The start of the UTC hour of `at`. */
export const hourOf = (at: Date | number) => new Date(Math.floor(new Date(at).getTime() / HOUR) * HOUR)

/** Distinct edge hours as ISO strings, for `= any(...::timestamptz[])` and `<> all(...)`. */
export const edgeHours = (boundaries: Date[]) => [...new Set(boundaries.map((b) => hourOf(b).toISOString()))]

/**
 * The tickets created in the edge hours, joined to them: each edge is one range scan of an index
 * on created_at (PostgreSQL runs a nested loop over the few hours).
 */
export const inEdgeHours = (sql: Sql, edges: string[]) =>
  sql`tickets t join unnest(${edges}::timestamptz[]) e(h)
    on t.created_at >= e.h and t.created_at < e.h + interval '1 hour'`

/**
 * The live tickets closed in the edge hours, as `t(closed_at, closed_by, created_at)`: one
 * index-only range scan of tickets_report_closed_idx per edge. `offset 0` keeps each edge's scan
 * apart: flattened into a join, PostgreSQL misjudged it and read every closed ticket (50 ms on
 * 1,000,000 tickets instead of 1, bench/tickets.md#reports).
 */
export const closedInEdgeHours = (sql: Sql, edges: string[]) =>
  sql`unnest(${edges}::timestamptz[]) e(h) cross join lateral (
    select closed_at, closed_by, created_at from tickets
    where deleted_at is null and closed_at is not null and closed_at >= e.h and closed_at < e.h + interval '1 hour'
    offset 0) t`

/**
 * One ticket's figures as the rollups count them (migration 0006's trigger): these columns are
 * summed over the edge tickets and added to the rollup rows of the other hours. Durations in
 * microseconds (numeric), as the rollups keep them.
 */
export const ticketFigures = (sql: Sql) => sql`1 as total,
  (t.status = 'open')::int as open,
  (t.status = 'in_progress')::int as in_progress,
  (t.status = 'closed')::int as closed,
  case when t.first_response_at is not null and t.status not in ('resolved', 'closed') then 1 else 0 end
    as n_hang_unresolved,
  case when t.first_response_at is not null and t.status not in ('resolved', 'closed')
    then extract(epoch from t.first_response_at - t.created_at) * 1000000 else 0 end as s_hang_unresolved,
  case when t.first_response_at is not null then 1 else 0 end as n_hang,
  case when t.first_response_at is not null
    then extract(epoch from t.first_response_at - t.created_at) * 1000000 else 0 end as s_hang,
  case when t.resolved_at is not null then 1 else 0 end as n_resolution,
  case when t.resolved_at is not null
    then extract(epoch from t.resolved_at - t.created_at) * 1000000 else 0 end as s_resolution`

/** The columns of ticketFigures, as a rollup row holds them. */
export const FIGURES = [
  'total',
  'open',
  'in_progress',
  'closed',
  'n_hang_unresolved',
  's_hang_unresolved',
  'n_hang',
  's_hang',
  'n_resolution',
  's_resolution',
] as const

/** A ticket's breach_at and decided_at (migration 0006): breached / decided at `now` iff now > it. */
export const breachAt = (sql: Sql) =>
  sql`tickets_report_breach_at(first_response_due_at, first_response_at, resolution_due_at, resolved_at)`
export const decidedAt = (sql: Sql) =>
  sql`tickets_report_decided_at(first_response_due_at, first_response_at, resolution_due_at, resolved_at)`

/** The UTC day of an instant as days since 1970-01-01 (grouping by a number, formatted here). */
export const utcDay = (sql: Sql, column: Fragment) => sql`floor(date_part('epoch', ${column}) / 86400)::int`
export const dayKey = (ms: number) => new Date(ms).toISOString().slice(0, 10)

/**
 * The last `days` UTC days, today included: from 00:00 UTC of the first day to now. `keys` are
 * the days, oldest first.
 */
export function dayWindow(now: Date, days: number) {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate())
  const first = today - (days - 1) * DAY
  return { from: new Date(first), keys: Array.from({ length: days }, (_, i) => dayKey(first + i * DAY)) }
}

/**
 * Runs a report's queries in a read-only transaction planned with their actual bounds. The
 * bounds are parameters, and after five runs of a prepared statement PostgreSQL may switch to a
 * generic plan, which cannot range-scan the edge-hour indexes: on 1,000,000 tickets the summary's
 * edge became a scan of every ticket (4 ms with the bounds, 95 ms generic; bench/tickets.md#reports).
 */
export const withCustomPlans = <T>(sql: Sql, run: (tx: Sql) => Promise<T>): Promise<T> =>
  sql.begin('read only', async (tx) => {
    await tx`set local plan_cache_mode = force_custom_plan`
    return run(tx as unknown as Sql)
  }) as Promise<T>

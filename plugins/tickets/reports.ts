/**
 * Ticket reports (docs/plugins/tickets.md#reports): SLA attainment, resolution times, tickets per
 * day, the analytics summary and StatsV2. Every figure but the median resolution time comes from
 * the rollups of migration 0006_report_rollups.sql (whole UTC hours, kept exact by triggers) plus
 * the tickets of the partial hour at now read exactly; the median reads the resolved tickets of
 * its window (migration 0003's covering index). No ticket row reaches this process.
 */
import type { Sql } from '../../core/index.ts'
import { breachAt, dayKey, dayWindow, DAY, decidedAt, hourOf, utcDay, withCustomPlans } from './report-hours.ts'
import type { ReportModel } from './report-model.ts'
import { createStats } from './report-stats.ts'

export interface ReportsDeps {
  sql: Sql
  /** The plugin's clock: every window is measured from it. */
  now: () => Date
  /** PUBLIC_URL: `oldest_unanswered_ticket.link` is the ticket's API URL under it. */
  publicUrl: string
}

const ratio = (part: number, total: number) => (total > 0 ? Math.round((part / total) * 1000) / 1000 : null)
const roundMs = (n: number | null) => (n === null ? null : Math.round(n))

export function createReports(d: ReportsDeps) {
  const over = (tx: Sql) => reportQueries({ ...d, sql: tx })
  return {
    sla: (days: number) => withCustomPlans(d.sql, (tx) => over(tx).sla(days)),
    resolution: (days: number) => withCustomPlans(d.sql, (tx) => over(tx).resolution(days)),
    daily: (days: number) => withCustomPlans(d.sql, (tx) => over(tx).daily(days)),
    summary: (days: number) => withCustomPlans(d.sql, (tx) => over(tx).summary(days)),
    /** Seed 002's StatsV2 (report-stats.ts). `version` picks the API version of the ticket link. */
    stats: (version: string) => withCustomPlans(d.sql, (tx) => over(tx).stats(version)),
  }
}

/** The reports over `d.sql`, a transaction of withCustomPlans. */
function reportQueries(d: ReportsDeps) {
  const { sql } = d
  const stats = createStats(d)
  /**
   * The `days` window `[from, now]` split at now's hour `nowH`: whole hours `[from, nowH)` from
   * the rollups, `[nowH, now]` from the tickets (at most an hour of them, an index range).
   */
  const split = (days: number) => {
    const now = d.now()
    const { from, keys } = dayWindow(now, days)
    return { now, from, keys, nowH: hourOf(now) }
  }

  return {
    /**
     * Tickets created in the last `days` UTC days whose two targets are both decided (each met,
     * or breached: met late or past due unmet), and how many met both. Tickets with a target
     * still running are left out until it is decided (as the queue stats count them). Decided
     * means now > decided_at (migration 0006): rollup rows whose decided hour is before now's
     * hour count whole; tickets that became decided within now's hour are read exactly.
     */
    async sla(days: number): Promise<ReportModel.sla> {
      const { now, from, nowH } = split(days)
      const [r] = await sql<{ total: number | null; met: number | null }[]>`
        select sum(total)::int as total, sum(met)::int as met from (
          select 0 as total, met from ticket_report_created where hour >= ${from} and hour < ${nowH}
          union all
          select n, 0 from ticket_report_decided
          where hour >= ${from} and hour < ${nowH} and decided_hour < ${nowH}
          union all
          select 1, 0 from tickets where deleted_at is null and ${decidedAt(sql)} >= ${nowH}
            and ${decidedAt(sql)} < ${now} and created_at >= ${from} and created_at < ${nowH}
          union all
          select (coalesce(${decidedAt(sql)} < ${now}, false))::int,
            (coalesce(first_response_at <= first_response_due_at and resolved_at <= resolution_due_at, false))::int
          from tickets where deleted_at is null and created_at >= ${nowH} and created_at <= ${now}
            and first_response_due_at is not null
        ) x`
      const total = r?.total ?? 0
      const met = r?.met ?? 0
      return { total, met, sla_attainment: ratio(met, total) }
    },

    /**
     * Resolution time (resolved_at - created_at) of the tickets created in the last `days` UTC
     * days and resolved. The median needs the values themselves: read from migration 0003's
     * covering index over the window, not from the rollups.
     */
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
      const { now, from, keys, nowH } = split(days)
      const rows = await sql<{ day: number; count: number }[]>`
        select day, sum(n)::int as count from (
          select ${utcDay(sql, sql`hour`)} as day, total as n from ticket_report_created
          where hour >= ${from} and hour < ${nowH}
          union all
          select ${utcDay(sql, sql`created_at`)}, 1 from tickets
          where deleted_at is null and created_at >= ${nowH} and created_at <= ${now}
        ) x group by day`
      const by = new Map(rows.map((r) => [dayKey(r.day * DAY), r.count]))
      return { daily: keys.map((day) => ({ day, count: by.get(day) ?? 0 })) }
    },

    /**
     * Seed 000's summary of the last `days` UTC days: tickets, those with an SLA (`sla_total`),
     * those that breached a target, `1 - breached / total` rounded to three decimals, and a
     * rollup per day, newest first, zero-filled. Breached means now > breach_at (migration
     * 0006), split at now's hour as metrics/sla splits decided_at.
     */
    async summary(days: number): Promise<ReportModel.summary> {
      const { now, from, keys, nowH } = split(days)
      const rows = await sql<{ day: number; total: number; sla_total: number; sla_breached: number }[]>`
        select day, sum(total)::int as total, sum(sla_total)::int as sla_total, sum(breached)::int as sla_breached
        from (
          select ${utcDay(sql, sql`hour`)} as day, total, sla_total, 0 as breached from ticket_report_created
          where hour >= ${from} and hour < ${nowH}
          union all
          select ${utcDay(sql, sql`hour`)}, 0, 0, n from ticket_report_breach
          where hour >= ${from} and hour < ${nowH} and breach_hour < ${nowH}
          union all
          select ${utcDay(sql, sql`created_at`)}, 0, 0, 1 from tickets
          where deleted_at is null and ${breachAt(sql)} >= ${nowH} and ${breachAt(sql)} < ${now}
            and created_at >= ${from} and created_at < ${nowH}
          union all
          select ${utcDay(sql, sql`created_at`)}, 1, (first_response_due_at is not null)::int,
            (coalesce(${breachAt(sql)} < ${now}, false))::int
          from tickets where deleted_at is null and created_at >= ${nowH} and created_at <= ${now}
        ) x group by day`
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

    /** Seed 002's StatsV2 (report-stats.ts). `version` picks the API version of the ticket link. */
    stats: (version: string) => stats(d.now(), version),
  }
}

export type Reports = ReturnType<typeof createReports>

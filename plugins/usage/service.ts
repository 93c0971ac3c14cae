/**
 * Usage reads (docs/plugins/usage.md): summary, current period, trends, daily series,
 * breakdown, top users. Everything is read from the daily roll-ups, so usage shows up once the
 * replica that metered it has flushed (USAGE_FLUSH_INTERVAL_MS).
 */
import { notFound, type Sql } from '../../core/index.ts'
import { METRIC_KEYS, OTHER, metricInfo, type MetricKey } from './metrics.ts'
import {
  addDays,
  dayOf,
  dayRange,
  elapsedDays,
  growthRate as percentChange,
  monthPeriod,
  periodView,
  round2,
  trendOf,
  type Trend,
} from './periods.ts'

/**
 * growth_rate is always a number (docs/plugins/usage.md; typed mobile clients decode a double):
 * the percent change, 0 when both periods are 0, 100 when only the previous one is 0 (-100 for
 * a negative total then, e.g. storage freed, so the sign agrees with the trend).
 */
export const growthRate = (current: number, previous: number): number =>
  previous === 0 ? Math.sign(current) * 100 + 0 : percentChange(current, previous)!

export interface MetricSummary {
  current_period: number
  previous_period: number
  growth_rate: number
  daily_average: number
}

export interface PeriodView {
  start: string
  end: string
}

export interface UsageSummary {
  metrics: Record<string, MetricSummary>
  period: PeriodView
}

export interface UsageTrend extends MetricSummary {
  metric: string
  peak_day: string | null
  peak_value: number
  trend: Trend
}

export interface UsageDaily {
  metric: string
  data: { date: string; value: number }[]
  total: number
  average: number
}

export interface UsageBreakdown {
  metric: string
  dimension: string
  breakdown: Record<string, number>
  total: number
}

export interface TopUsers {
  metric: string
  users: { user_id: string; email: string | null; value: number }[]
  period: PeriodView
}

export interface UsageQueries {
  summary(userId: string, metric?: MetricKey): Promise<UsageSummary>
  /** Admin: the summary of a user that exists (404 otherwise). */
  summaryOf(userId: string, metric?: MetricKey): Promise<UsageSummary>
  currentPeriod(userId: string): Promise<Record<MetricKey, number> & { period: PeriodView }>
  trends(userId: string, metric: MetricKey, days: number): Promise<UsageTrend>
  daily(userId: string, metric: MetricKey, days: number): Promise<UsageDaily>
  breakdown(userId: string, metric: MetricKey, dimension?: string): Promise<UsageBreakdown>
  topUsers(metric: MetricKey, limit: number): Promise<TopUsers>
  /** Admin dashboard section. */
  stats(): Promise<Record<string, unknown>>
}

const zeroes = () => Object.fromEntries(METRIC_KEYS.map((k) => [k, 0])) as Record<MetricKey, number>

export function createUsageQueries(sql: Sql, now: () => Date): UsageQueries {
  const summary = async (userId: string, metric?: MetricKey): Promise<UsageSummary> => {
    const at = now()
    const cur = monthPeriod(at)
    const prev = monthPeriod(at, -1)
    const curStart = dayOf(cur.start)
    const rows = await sql<{ metric: string; cur: number; prev: number }[]>`
      select metric,
             coalesce(sum(value) filter (where day >= ${curStart}::date), 0)::float8 as cur,
             coalesce(sum(value) filter (where day < ${curStart}::date), 0)::float8 as prev
      from usage_daily
      where user_id = ${userId} and day >= ${dayOf(prev.start)}::date and day < ${dayOf(cur.end)}::date
        ${metric ? sql`and metric = ${metric}` : sql``}
      group by metric`
    const found = new Map(rows.map((r) => [r.metric, r]))
    const elapsed = elapsedDays(cur, at)
    const metrics: Record<string, MetricSummary> = {}
    for (const key of metric ? [metric] : METRIC_KEYS) {
      const r = found.get(key)
      const c = r?.cur ?? 0
      const p = r?.prev ?? 0
      metrics[key] = {
        current_period: c,
        previous_period: p,
        growth_rate: growthRate(c, p),
        daily_average: round2(c / elapsed),
      }
    }
    return { metrics, period: periodView(cur) }
  }

  /** Sums per day of one metric from `first` to `last` (inclusive). */
  const perDay = async (userId: string, metric: string, first: string, last: string) => {
    const rows = await sql<{ day: string; value: number }[]>`
      select day::text as day, sum(value)::float8 as value from usage_daily
      where user_id = ${userId} and metric = ${metric} and day >= ${first}::date and day <= ${last}::date
      group by day`
    return new Map(rows.map((r) => [r.day, r.value]))
  }

  return {
    summary,
    async summaryOf(userId, metric) {
      const [user] = await sql`select 1 from users where id = ${userId}`
      if (!user) throw notFound('User', userId)
      return summary(userId, metric)
    },

    async currentPeriod(userId) {
      const cur = monthPeriod(now())
      const rows = await sql<{ metric: string; value: number }[]>`
        select metric, sum(value)::float8 as value from usage_daily
        where user_id = ${userId} and day >= ${dayOf(cur.start)}::date and day < ${dayOf(cur.end)}::date
        group by metric`
      const totals = zeroes()
      for (const r of rows) if (r.metric in totals) totals[r.metric as MetricKey] = r.value
      return { ...totals, period: periodView(cur) }
    },

    async trends(userId, metric, days) {
      const today = dayOf(now())
      const first = addDays(today, -(days - 1))
      const values = await perDay(userId, metric, addDays(first, -days), today)
      let current = 0
      let previous = 0
      let peakDay: string | null = null
      let peakValue = 0
      for (const [day, value] of values) {
        if (day >= first) current += value
        else previous += value
      }
      for (const day of dayRange(today, days)) {
        const v = values.get(day) ?? 0
        if (v > peakValue) {
          peakValue = v
          peakDay = day
        }
      }
      return {
        metric,
        current_period: current,
        previous_period: previous,
        growth_rate: growthRate(current, previous),
        daily_average: round2(current / days),
        peak_day: peakDay,
        peak_value: peakValue,
        trend: trendOf(current, previous),
      }
    },

    async daily(userId, metric, days) {
      const today = dayOf(now())
      const range = dayRange(today, days)
      const values = await perDay(userId, metric, range[0]!, today)
      const data = range.map((date) => ({ date, value: values.get(date) ?? 0 }))
      const total = data.reduce((s, d) => s + d.value, 0)
      return { metric, data, total, average: round2(total / days) }
    },

    async breakdown(userId, metric, dimension) {
      const dim = dimension ?? metricInfo(metric)!.breakdownBy
      const cur = monthPeriod(now())
      const rows = await sql<{ label: string; value: number }[]>`
        select coalesce(dimensions->>${dim}, ${OTHER}) as label, sum(value)::float8 as value from usage_daily
        where user_id = ${userId} and metric = ${metric}
          and day >= ${dayOf(cur.start)}::date and day < ${dayOf(cur.end)}::date
        group by 1 order by 2 desc, 1 asc`
      const breakdown: Record<string, number> = {}
      let total = 0
      for (const r of rows) {
        breakdown[r.label] = r.value
        total += r.value
      }
      return { metric, dimension: dim, breakdown, total }
    },

    async topUsers(metric, limit) {
      const cur = monthPeriod(now())
      const users = await sql<{ user_id: string; email: string | null; value: number }[]>`
        select u.user_id, users.email, u.value from (
          select user_id, sum(value)::float8 as value from usage_daily
          where metric = ${metric} and day >= ${dayOf(cur.start)}::date and day < ${dayOf(cur.end)}::date
          group by user_id
        ) u left join users on users.id = u.user_id
        where u.value > 0
        order by u.value desc, u.user_id asc
        limit ${limit}`
      return { metric, users, period: periodView(cur) }
    },

    async stats() {
      const at = now()
      const cur = monthPeriod(at)
      const today = dayOf(at)
      const rows = await sql<{ metric: string; value: number; users: number; today: number; users_today: number }[]>`
        select metric, sum(value)::float8 as value, count(distinct user_id)::int as users,
               coalesce(sum(value) filter (where day = ${today}::date), 0)::float8 as today,
               count(distinct user_id) filter (where day = ${today}::date)::int as users_today
        from usage_daily
        where day >= ${dayOf(cur.start)}::date and day < ${dayOf(cur.end)}::date
        group by metric`
      const current = zeroes()
      let active = 0
      let activeToday = 0
      let requestsToday = 0
      for (const r of rows) {
        if (r.metric in current) current[r.metric as MetricKey] = r.value
        if (r.metric === 'api_requests') {
          active = r.users
          activeToday = r.users_today
          requestsToday = r.today
        }
      }
      return {
        current_period: current,
        api_requests_today: requestsToday,
        active_users_today: activeToday,
        active_users_current_period: active,
      }
    },
  }
}

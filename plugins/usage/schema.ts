/** TypeBox models of the usage plugin: queries and response bodies of docs/plugins/usage.md. */
import { t } from '../../core/index.ts'
import { METRIC_KEYS, type MetricKey } from './metrics.ts'

/** Documented as an enum; checked by metricKey() so an unknown metric gets a message naming the nine. */
const metric = (description: string) => t.String({ enum: METRIC_KEYS, description })

export namespace UsageModel {
  export const period = t.Object({
    start: t.String({ format: 'date-time', description: 'First second of the UTC calendar month' }),
    end: t.String({ format: 'date-time', description: 'Last second of the UTC calendar month' }),
  })

  export const metricSummary = t.Object({
    current_period: t.Number(),
    previous_period: t.Number(),
    growth_rate: t.Number({
      description:
        'Percent against the previous period, two decimals; 0 when both periods are 0, 100 when only the previous one is 0',
      examples: [27.55],
    }),
    daily_average: t.Number({ description: 'Current period over the days elapsed (today included)' }),
  })

  export const summaryQuery = t.Object({ metric: t.Optional(metric('Only this metric (default: all nine)')) })
  export const summary = t.Object({ metrics: t.Record(t.String(), metricSummary), period })

  export const currentPeriod = t.Object({
    ...(Object.fromEntries(METRIC_KEYS.map((k) => [k, t.Number()])) as Record<MetricKey, ReturnType<typeof t.Number>>),
    period,
  })

  export const trendsQuery = t.Object({
    metric: metric('Metric to analyze'),
    days: t.Integer({ minimum: 1, maximum: 365, default: 30, description: 'Window in days, today included (1-365)' }),
  })
  export const trends = t.Object({
    metric: t.String(),
    ...metricSummary.properties,
    peak_day: t.Union([t.String({ format: 'date' }), t.Null()], {
      description: 'Busiest day of the window; null when it is empty',
    }),
    peak_value: t.Number(),
    trend: t.UnionEnum(['increasing', 'decreasing', 'stable']),
  })

  export const dailyQuery = t.Object({
    metric: metric('Metric to retrieve'),
    days: t.Integer({ minimum: 1, maximum: 90, default: 30, description: 'Number of days, today included (1-90)' }),
  })
  export const daily = t.Object({
    metric: t.String(),
    data: t.Array(t.Object({ date: t.String({ format: 'date' }), value: t.Number() }), {
      description: 'Oldest first; every day present',
    }),
    total: t.Number(),
    average: t.Number(),
  })

  export const breakdownQuery = t.Object({
    metric: metric('Metric to break down'),
    dimension: t.Optional(
      t.String({
        pattern: '^[A-Za-z0-9_.-]{1,64}$',
        description: 'Dimension to group by (default per metric: model for AI, version for API requests ...)',
      }),
    ),
  })
  export const breakdown = t.Object({
    metric: t.String(),
    dimension: t.String(),
    breakdown: t.Record(t.String(), t.Number(), {
      description: 'Current period by dimension value; `other` when unset',
    }),
    total: t.Number(),
  })

  export const metrics = t.Object({
    metrics: t.Array(t.Object({ key: t.String(), name: t.String(), description: t.String(), unit: t.String() })),
  })

  export const userParams = t.Object({
    user_id: t.String({ minLength: 1, maxLength: 255, pattern: '^[^\\u0000]*$', description: 'User ID' }),
  })

  export const topUsersQuery = t.Object({
    metric: t.Optional(metric('Metric to rank by (default api_requests)')),
    limit: t.Integer({ minimum: 1, maximum: 100, default: 10, description: 'Number of top users (1-100)' }),
  })
  export const topUsers = t.Object({
    metric: t.String(),
    users: t.Array(t.Object({ user_id: t.String(), email: t.Union([t.String(), t.Null()]), value: t.Number() })),
    period,
  })
}

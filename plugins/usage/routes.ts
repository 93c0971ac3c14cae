/** Usage routes: the caller's usage under /app/usage and admin analytics under /admin/usage (docs/plugins/usage.md). */
import type { RouteContext } from '../../core/index.ts'
import { METRICS, metricKey } from './metrics.ts'
import { UsageModel } from './schema.ts'
import type { UsageQueries } from './service.ts'

const SCOPE = 'usage:read'
const maybeMetric = (m: string | undefined) => (m === undefined ? undefined : metricKey(m))
const metricList = { metrics: METRICS.map(({ key, name, description, unit }) => ({ key, name, description, unit })) }

export const usageAppRoutes = ({ router }: RouteContext, usage: UsageQueries) =>
  router('/usage')
    .get('/summary', ({ user, query }) => usage.summary(user.id, maybeMetric(query.metric)), {
      query: UsageModel.summaryQuery,
      response: { 200: UsageModel.summary },
      scope: SCOPE,
      detail: {
        summary: 'Get usage summary',
        description:
          'This UTC calendar month against the previous one, per metric. growth_rate is in percent ' +
          '(always a number: 0 when both periods are 0, 100 when only the previous one is 0); daily_average divides by the days elapsed, today included.',
      },
    })
    .get('/current-period', ({ user }) => usage.currentPeriod(user.id), {
      response: { 200: UsageModel.currentPeriod },
      scope: SCOPE,
      detail: {
        summary: 'Get current period usage',
        description: 'Totals of the nine metrics for this UTC calendar month.',
      },
    })
    .get('/trends', ({ user, query }) => usage.trends(user.id, metricKey(query.metric), query.days), {
      query: UsageModel.trendsQuery,
      response: { 200: UsageModel.trends },
      scope: SCOPE,
      detail: {
        summary: 'Get usage trends',
        description:
          'The last `days` UTC days (today included) against the `days` before. trend: increasing when ' +
          'growth is above +5 % (or usage appeared from nothing), decreasing below -5 %, stable otherwise.',
      },
    })
    .get('/daily', ({ user, query }) => usage.daily(user.id, metricKey(query.metric), query.days), {
      query: UsageModel.dailyQuery,
      response: { 200: UsageModel.daily },
      scope: SCOPE,
      detail: {
        summary: 'Get daily usage breakdown',
        description: 'One entry per UTC day, oldest first, zero-filled; average over `days`.',
      },
    })
    .get('/breakdown', ({ user, query }) => usage.breakdown(user.id, metricKey(query.metric), query.dimension), {
      query: UsageModel.breakdownQuery,
      response: { 200: UsageModel.breakdown },
      scope: SCOPE,
      detail: {
        summary: 'Get usage breakdown by category',
        description: 'This UTC calendar month, grouped by one dimension (AI metrics: model).',
      },
    })
    .get('/metrics', () => metricList, {
      response: { 200: UsageModel.metrics },
      scope: SCOPE,
      detail: { summary: 'List available metrics' },
    })

export const usageAdminRoutes = ({ router }: RouteContext, usage: UsageQueries) =>
  router('/usage')
    .get('/summary/:user_id', ({ params, query }) => usage.summaryOf(params.user_id, maybeMetric(query.metric)), {
      params: UsageModel.userParams,
      query: UsageModel.summaryQuery,
      response: { 200: UsageModel.summary },
      scope: 'admin:full',
      detail: {
        summary: "Get a user's usage summary",
        description: 'Same body as GET /app/usage/summary; 404 for an unknown user.',
      },
    })
    .get('/top-users', ({ query }) => usage.topUsers(metricKey(query.metric ?? 'api_requests'), query.limit), {
      query: UsageModel.topUsersQuery,
      response: { 200: UsageModel.topUsers },
      scope: 'admin:full',
      detail: {
        summary: 'Top users by usage',
        description: 'This UTC calendar month, highest first (user id as tie-break); users without usage are left out.',
      },
    })

/**
 * Report routes under /app/tickets (docs/plugins/tickets.md#reports): metrics, the analytics
 * summary and StatsV2, for staff and for staff's API keys with `analytics:read`. Static paths:
 * Elysia's router prefers them to `/tickets/:id` whatever the order of registration.
 */
import type { RouteContext, t } from '../../core/index.ts'
import { ReportModel } from './report-model.ts'
import { createReports } from './reports.ts'

const A = 'analytics:read'

const windowNote =
  'The last `days` UTC days, today included: from 00:00 UTC of the first day until now. Deleted tickets are left out.'

/** The options every report shares: staff only (keys: analytics:read of a staff owner), its documented answer. */
const report = <S extends ReturnType<typeof t.Object>>(answer: S, summary: string, description: string) => ({
  response: { 200: answer },
  role: 'staff' as const,
  scope: A,
  detail: { summary: `${summary} (staff)`, description },
})

/** Mounted inside the `/tickets` router (plugins/tickets/index.ts): paths are relative to it. */
export const reportRoutes = (ctx: RouteContext<any>, now: () => Date) => {
  const reports = createReports({ sql: ctx.sql, now, publicUrl: ctx.core.publicUrl })
  const { version } = ctx
  return ctx
    .router('')
    .get('/metrics/sla', ({ query }) => reports.sla(query.days), {
      query: ReportModel.daysQuery(30),
      ...report(
        ReportModel.sla,
        'SLA attainment',
        `${windowNote} Counts tickets whose first-response and resolution targets are both decided (met, or breached: met late or past due unmet); \`met\` met both.`,
      ),
    })
    .get('/metrics/resolution', ({ query }) => reports.resolution(query.days), {
      query: ReportModel.daysQuery(30),
      ...report(
        ReportModel.resolution,
        'Resolution times',
        `${windowNote} Tickets created in the window and resolved; times in milliseconds, null when none.`,
      ),
    })
    .get('/metrics/daily', ({ query }) => reports.daily(query.days), {
      query: ReportModel.daysQuery(30),
      ...report(ReportModel.daily, 'Tickets created per day', `${windowNote} Oldest first, every day present.`),
    })
    .get('/analytics/summary', ({ query }) => reports.summary(query.days), {
      query: ReportModel.daysQuery(7),
      ...report(ReportModel.summary, 'Analytics summary', `${windowNote} Rollups newest first, every day present.`),
    })
    .get(
      '/stats',
      () => reports.stats(version),
      report(
        ReportModel.stats,
        'Helpdesk statistics',
        'All time, and windows rolling from now: `past_24h` (the last 24 hours), `past_24h_previous` (the 24 before), `past_7d`, `past_7d_previous`. Leaderboards credit whoever closed the ticket.',
      ),
    )
}

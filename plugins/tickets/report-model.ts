/**
 * The answers of the report routes (docs/plugins/tickets.md#reports): TypeBox schemas shared by
 * the routes that document them and by reports.ts that builds them.
 */
import { t } from '../../core/index.ts'

/** Leaderboards list at most this many people. */
export const LEADERBOARD_SIZE = 10

const nullable = <T extends Parameters<typeof t.Union>[0][number]>(s: T) => t.Union([s, t.Null()])
const day = t.String({ format: 'date', description: 'A UTC day, YYYY-MM-DD' })
const count = (description: string) => t.Integer({ minimum: 0, description })
const ratio = (description: string) => nullable(t.Number({ minimum: 0, maximum: 1, description }))
const minutes = (description: string) =>
  nullable(t.Number({ minimum: 0, description: `${description}; null when none` }))

export namespace ReportModel {
  export const daysQuery = (fallback: number) =>
    t.Object({
      days: t.Integer({
        minimum: 1,
        maximum: 365,
        default: fallback,
        description: `The last \`days\` UTC days, today included (1-365, default ${fallback})`,
      }),
    })

  export const sla = t.Object({
    total: count('Tickets created in the window whose two SLA targets are decided (met or breached)'),
    met: count('Of those, tickets that met both targets'),
    sla_attainment: ratio('met / total, rounded to three decimals; null when total is 0'),
  })
  export type sla = typeof sla.static

  export const resolution = t.Object({
    avg_resolution_ms: nullable(t.Integer({ minimum: 0, description: 'Mean of resolved_at - created_at' })),
    median_resolution_ms: nullable(t.Integer({ minimum: 0, description: 'Median of resolved_at - created_at' })),
    count: count('Tickets created in the window and resolved'),
  })
  export type resolution = typeof resolution.static

  export const daily = t.Object({
    daily: t.Array(t.Object({ day, count: count('Tickets created that day') }), {
      description: 'One entry per UTC day, oldest first, zero-filled',
    }),
  })
  export type daily = typeof daily.static

  export const summary = t.Object({
    days: t.Integer({ minimum: 1, maximum: 365 }),
    tickets: count('Tickets created in the window'),
    sla_breached: count('Of those, tickets that breached a target (met late, or unmet past due)'),
    sla_total: count('Of those, tickets with an SLA'),
    sla_compliance_ratio: ratio('1 - sla_breached / sla_total, rounded to three decimals; null when sla_total is 0'),
    rollups: t.Array(
      t.Object({
        day,
        total: count('Tickets created that day'),
        sla_breached: count('Of those, breached'),
        sla_total: count('Of those, with an SLA'),
      }),
      { description: 'One entry per UTC day, newest first, zero-filled' },
    ),
  })
  export type summary = typeof summary.static

  const leaderboard = t.Array(
    t.Object({ user_id: t.String(), count: t.Integer({ minimum: 1, description: 'Tickets they closed' }) }),
    {
      maxItems: LEADERBOARD_SIZE,
      description: `Who closed the most tickets (the last closer of each), at most ${LEADERBOARD_SIZE}, most first`,
    },
  )
  const means = {
    mean_hang_time_minutes_unresolved: minutes(
      'Mean time to the first public staff reply, over answered tickets not resolved or closed',
    ),
    mean_hang_time_minutes_all: minutes('Mean time to the first public staff reply, over answered tickets'),
    mean_resolution_time_minutes: minutes('Mean of resolved_at - created_at over resolved tickets'),
  }

  export const window = t.Object({
    new_tickets_total: count('Tickets created in the window'),
    new_tickets_now_closed: count('Created in the window and now closed'),
    new_tickets_still_open: count('Created in the window and now open'),
    new_tickets_in_progress: count('Created in the window and now in progress'),
    closed_today: count('Tickets closed in the window (and still closed)'),
    closed_today_from_today: count('Created and closed in the window'),
    assigned_today_in_progress: count('Assigned in the window and now in progress'),
    helpers_leaderboard: leaderboard,
    ...means,
  })
  export type window = typeof window.static

  export const stats = t.Object({
    all_time: t.Object({
      tickets_total: count('Live tickets'),
      tickets_open: count('Of those, open'),
      tickets_closed: count('Of those, closed'),
      tickets_in_progress: count('Of those, in progress'),
      helpers_leaderboard: leaderboard,
      ...means,
      oldest_unanswered_ticket: nullable(
        t.Object(
          {
            id: t.String({ format: 'uuid' }),
            number: t.Integer({ minimum: 1 }),
            created_at: t.String({ format: 'date-time' }),
            age_minutes: t.Integer({ minimum: 0 }),
            link: t.String({ description: "The ticket's API URL under PUBLIC_URL" }),
          },
          {
            description: 'The oldest ticket not resolved or closed that no staff has answered publicly; null when none',
          },
        ),
      ),
    }),
    past_24h: window,
    past_24h_previous: window,
    past_7d: window,
    past_7d_previous: window,
  })
  export type stats = typeof stats.static
}

/** SLA policies per priority; the scan announcing missed targets (docs/plugins/tickets.md#sla). */
import { page, type EventBus, type Logger, type Page, type Sql } from '../../core/index.ts'
import { PRIORITIES, type Priority, type SlaModel } from './schema.ts'
import type { TicketRow, TicketsService } from './service.ts'

export function createSlaPolicies(d: { sql: Sql; now: () => Date }) {
  const { sql } = d
  return {
    async list(q: { skip: number; limit: number }): Promise<Page<SlaModel.policy>> {
      const rows = await sql<
        SlaModel.policy[]
      >`select priority, first_response_minutes, resolution_minutes from ticket_sla_policies`
      rows.sort((a, b) => PRIORITIES.indexOf(b.priority) - PRIORITIES.indexOf(a.priority))
      return page(rows.slice(q.skip, q.skip + q.limit), rows.length, q)
    },
    /** Applies to tickets created (or re-prioritised) after it. */
    async put(priority: Priority, input: typeof SlaModel.put.static): Promise<SlaModel.policy> {
      const [row] = await sql<
        SlaModel.policy[]
      >`insert into ticket_sla_policies (priority, first_response_minutes, resolution_minutes, updated_at)
        values (${priority}, ${input.first_response_minutes}, ${input.resolution_minutes}, ${d.now()})
        on conflict (priority) do update set first_response_minutes = excluded.first_response_minutes,
          resolution_minutes = excluded.resolution_minutes, updated_at = excluded.updated_at
        returning priority, first_response_minutes, resolution_minutes`
      return row!
    },
  }
}

/**
 * Marks tickets whose SLA target passed unmet since the last scan and publishes
 * `ticket.sla_breached` once per target. Reading a breach never needs this job (the flags are
 * computed from the due times); it exists for notifications. Returns how many it announced.
 */
export async function scanSlaBreaches(d: {
  sql: Sql
  tickets: TicketsService
  events: EventBus
  logger: Logger
  now: () => Date
}): Promise<number> {
  const { sql, tickets } = d
  const now = d.now()
  let announced = 0
  for (const target of ['first_response', 'resolution'] as const) {
    for (;;) {
      const rows =
        target === 'first_response'
          ? await sql<TicketRow[]>`update tickets set first_response_breach_notified_at = ${now}
              where id in (select id from tickets where deleted_at is null and first_response_at is null
                and first_response_breach_notified_at is null and first_response_due_at < ${now}
                order by first_response_due_at limit 500 for update skip locked)
              returning ${tickets.columns}`
          : await sql<TicketRow[]>`update tickets set resolution_breach_notified_at = ${now}
              where id in (select id from tickets where deleted_at is null and resolved_at is null
                and resolution_breach_notified_at is null and resolution_due_at < ${now}
                order by resolution_due_at limit 500 for update skip locked)
              returning ${tickets.columns}`
      for (const row of rows) {
        announced++
        try {
          await d.events.publish('ticket.sla_breached', { ticket: tickets.view(row), target })
        } catch (err) {
          d.logger.error('tickets: sla_breached publish failed', { error: err })
        }
      }
      if (rows.length < 500) break
    }
  }
  return announced
}

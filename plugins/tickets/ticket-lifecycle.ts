/** Assign, close and reopen (docs/plugins/tickets.md#lifecycle); close issues the CSAT token, reopen voids it. */
import { conflict, type Principal } from '../../core/index.ts'
import { createAnnounce } from './announce.ts'
import type { Status } from './schema.ts'
import type { TicketBase } from './ticket-base.ts'
import type { Ticket, TicketRow } from './ticket-row.ts'

export function createTicketLifecycle(b: TicketBase) {
  const { d, now, columns, requireStaff, refuseClosed, checkStaffUser, enqueue } = b
  const { changeTicket } = createAnnounce(b)
  return {
    assign(p: Principal, ref: string, assigneeId: string | null): Promise<Ticket> {
      return changeTicket(p, ref, 'assigned', async (cur, tx) => {
        requireStaff(p, 'Assigning a ticket')
        refuseClosed(cur)
        if (assigneeId !== null) await checkStaffUser(tx, 'assignee_id', assigneeId)
        const status: Status = assigneeId !== null && cur.status === 'open' ? 'in_progress' : cur.status
        const changes: Record<string, unknown> = {}
        if (assigneeId !== cur.assignee_id) changes.assignee_id = { from: cur.assignee_id, to: assigneeId }
        if (status !== cur.status) changes.status = { from: cur.status, to: status }
        if (!Object.keys(changes).length) return undefined
        const [row] = await tx<
          TicketRow[]
        >`update tickets set assignee_id = ${assigneeId}, status = ${status}, updated_at = ${now()}
          where id = ${cur.id} returning ${columns}`
        return { row: row!, changes }
      })
    },

    async close(p: Principal, ref: string): Promise<Ticket> {
      const ticket = await changeTicket(p, ref, 'closed', async (cur, tx) => {
        if (cur.status === 'closed') throw conflict('Ticket is already closed', { status: 'closed', ticket_id: cur.id })
        const at = now()
        await d.csat.issue(tx, cur.id, at)
        const [row] = await tx<
          TicketRow[]
        >`update tickets set status = 'closed', closed_at = ${at}, resolved_at = coalesce(resolved_at, ${at}),
            closed_by = ${p.user.id}, updated_at = ${at}
          where id = ${cur.id} returning ${columns}`
        const changes = { status: { from: cur.status, to: 'closed' } }
        return { row: row!, changes, changed: ['status', 'closed_at', 'resolved_at'] }
      })
      await enqueue(
        'tickets.notify-requester',
        { ticket_id: ticket.id, kind: 'closed', actor_id: p.user.id },
        `tickets:closed:${ticket.id}:${ticket.closed_at}`,
      )
      return ticket
    },

    reopen(p: Principal, ref: string): Promise<Ticket> {
      return changeTicket(p, ref, 'reopened', async (cur, tx) => {
        if (cur.status !== 'closed' && cur.status !== 'resolved') {
          throw conflict('Only a resolved or closed ticket can be reopened', { status: cur.status, ticket_id: cur.id })
        }
        await d.csat.void(tx, cur.id)
        const [row] = await tx<
          TicketRow[]
        >`update tickets set status = 'open', resolved_at = null, closed_at = null, closed_by = null,
            resolution_breach_notified_at = null, updated_at = ${now()}
          where id = ${cur.id} returning ${columns}`
        const changes = { status: { from: cur.status, to: 'open' } }
        return { row: row!, changes, changed: ['status', 'resolved_at', 'closed_at'] }
      })
    },
  }
}

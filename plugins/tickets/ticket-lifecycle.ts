/** Assign, close and reopen (docs/plugins/tickets.md#lifecycle); close issues the CSAT token, reopen voids it. */
import { conflict, type Principal } from '../../core/index.ts'
import type { Status } from './schema.ts'
import type { TicketBase } from './ticket-base.ts'
import type { Ticket, TicketRow } from './ticket-row.ts'

export function createTicketLifecycle(b: TicketBase) {
  const {
    announceUpdate,
    d,
    sql,
    now,
    columns,
    view,
    load,
    requireStaff,
    refuseClosed,
    activity,
    checkStaffUser,
    publish,
    enqueue,
  } = b
  return {
    async assign(p: Principal, ref: string, assigneeId: string | null): Promise<Ticket> {
      const result = await sql.begin(async (tx) => {
        const cur = await load(p, ref, tx, true)
        requireStaff(p, 'Assigning a ticket')
        refuseClosed(cur)
        if (assigneeId !== null) await checkStaffUser(tx, 'assignee_id', assigneeId)
        const status: Status = assigneeId !== null && cur.status === 'open' ? 'in_progress' : cur.status
        const changes: Record<string, unknown> = {}
        if (assigneeId !== cur.assignee_id) changes.assignee_id = { from: cur.assignee_id, to: assigneeId }
        if (status !== cur.status) changes.status = { from: cur.status, to: status }
        if (!Object.keys(changes).length) return { row: cur, changed: [] as string[] }
        const [row] = await tx<
          TicketRow[]
        >`update tickets set assignee_id = ${assigneeId}, status = ${status}, updated_at = ${now()}
          where id = ${cur.id} returning ${columns}`
        await activity(tx, cur.id, p.user.id, 'assigned', changes)
        return { row: row!, changed: Object.keys(changes) }
      })
      return announceUpdate(p, result)
    },

    async close(p: Principal, ref: string): Promise<Ticket> {
      const row = await sql.begin(async (tx) => {
        const cur = await load(p, ref, tx, true)
        if (cur.status === 'closed') throw conflict('Ticket is already closed', { status: 'closed', ticket_id: cur.id })
        const at = now()
        await d.csat.issue(tx, cur.id, at)
        const [r] = await tx<
          TicketRow[]
        >`update tickets set status = 'closed', closed_at = ${at}, resolved_at = coalesce(resolved_at, ${at}),
            closed_by = ${p.user.id}, updated_at = ${at}
          where id = ${cur.id} returning ${columns}`
        await activity(tx, cur.id, p.user.id, 'closed', { status: { from: cur.status, to: 'closed' } })
        return r!
      })
      const ticket = view(row)
      await publish('ticket.updated', { ticket, changed: ['status', 'closed_at', 'resolved_at'], actor_id: p.user.id })
      await enqueue(
        'tickets.notify-requester',
        { ticket_id: ticket.id, kind: 'closed', actor_id: p.user.id },
        `tickets:closed:${ticket.id}:${ticket.closed_at}`,
      )
      return ticket
    },

    async reopen(p: Principal, ref: string): Promise<Ticket> {
      const row = await sql.begin(async (tx) => {
        const cur = await load(p, ref, tx, true)
        if (cur.status !== 'closed' && cur.status !== 'resolved') {
          throw conflict('Only a resolved or closed ticket can be reopened', { status: cur.status, ticket_id: cur.id })
        }
        await d.csat.void(tx, cur.id)
        const [r] = await tx<
          TicketRow[]
        >`update tickets set status = 'open', resolved_at = null, closed_at = null, closed_by = null,
            resolution_breach_notified_at = null, updated_at = ${now()}
          where id = ${cur.id} returning ${columns}`
        await activity(tx, cur.id, p.user.id, 'reopened', { status: { from: cur.status, to: 'open' } })
        return r!
      })
      const ticket = view(row)
      await publish('ticket.updated', { ticket, changed: ['status', 'resolved_at', 'closed_at'], actor_id: p.user.id })
      return ticket
    },
  }
}

/**
 * Tickets service (docs/plugins/tickets.md): tickets, lifecycle, comments with internal notes, search and the
 * activity log. Plain values in and out; throws AppError. Every change writes its activity row
 * in the transaction of the change; events are published after the commit.
 *
 * This file only assembles the parts, one job each: ticket-base.ts (loading, checks, activity,
 * events), ticket-list.ts (GET /tickets and search), ticket-writes.ts (create, edit, delete),
 * ticket-lifecycle.ts (assign, close, reopen) and ticket-comments.ts (conversation, activity log).
 */
import { AppError, isUuid, type Principal } from '../../core/index.ts'
import { createTicketBase } from './ticket-base.ts'
import { createTicketComments } from './ticket-comments.ts'
import { createTicketLifecycle } from './ticket-lifecycle.ts'
import { createTicketList } from './ticket-list.ts'
import type { TicketsDeps } from './ticket-row.ts'
import { createTicketWrites } from './ticket-writes.ts'

export { breached, staffOf, toTicket, TS_CONFIG } from './ticket-row.ts'
export type { Activity, Comment, Ticket, TicketRow, TicketsDeps } from './ticket-row.ts'
export type { ListFilters } from './ticket-list.ts'

export type TicketsService = ReturnType<typeof createTicketsService>

export function createTicketsService(d: TicketsDeps) {
  const b = createTicketBase(d)
  const { load } = b
  return {
    load,
    view: b.view,
    requireStaff: b.requireStaff,
    ...createTicketList(b),
    ...createTicketWrites(b),
    ...createTicketLifecycle(b),
    ...createTicketComments(b),

    /** `ticket:<id>` WebSocket channel: its requester and staff. */
    async canWatch(p: Principal, ref: string): Promise<boolean> {
      // By UUID only: broadcasts go to `ticket:<uuid>`, so a `ticket:<number>` subscription would never hear anything.
      if (!isUuid(ref)) return false
      try {
        await load(p, ref)
        return true
      } catch (err) {
        if (err instanceof AppError) return false
        throw err
      }
    },

    activityIn: b.activity,
    refuseClosed: b.refuseClosed,
    checkStaffUser: b.checkStaffUser,
    checkQueue: b.checkQueue,
    reindex: b.reindex,
    columns: b.columns,
  }
}

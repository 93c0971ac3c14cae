/** Ticket watchers: staff who follow a ticket (docs/plugins/tickets.md#endpoints). */
import { notFound, page, type Page, type Principal, type Sql } from '../../core/index.ts'
import type { TicketsService } from './service.ts'

export function createWatchers(d: { sql: Sql; tickets: TicketsService }) {
  const { sql, tickets } = d
  return {
    async list(p: Principal, ref: string, q: { skip: number; limit: number }): Promise<Page<string>> {
      const t = await tickets.load(p, ref)
      tickets.requireStaff(p, 'Watchers')
      const rows = await sql<{ user_id: string }[]>`select user_id from ticket_watchers where ticket_id = ${t.id}
        order by created_at desc, user_id desc limit ${q.limit} offset ${q.skip}`
      const [c] = await sql<{ n: number }[]>`select count(*)::int as n from ticket_watchers where ticket_id = ${t.id}`
      return page(
        rows.map((r) => r.user_id),
        c!.n,
        q,
      )
    },
    /** Adds a staff watcher; `created` is false when they already watched (docs/plugins/tickets.md: 201 then 200). */
    async add(p: Principal, ref: string, userId: string) {
      const t = await tickets.load(p, ref)
      tickets.requireStaff(p, 'Watchers')
      return sql.begin(async (tx) => {
        await tickets.checkStaffUser(tx, 'user_id', userId)
        const [row] = await tx`insert into ticket_watchers (ticket_id, user_id) values (${t.id}, ${userId})
          on conflict do nothing returning user_id`
        if (row) await tickets.activityIn(tx, t.id, p.user.id, 'watcher_added', { user_id: userId })
        return { ticket_id: t.id, user_id: userId, created: Boolean(row) }
      })
    },
    async remove(p: Principal, ref: string, userId: string) {
      const t = await tickets.load(p, ref)
      tickets.requireStaff(p, 'Watchers')
      await sql.begin(async (tx) => {
        const [row] =
          await tx`delete from ticket_watchers where ticket_id = ${t.id} and user_id = ${userId} returning user_id`
        if (!row) throw notFound('Watcher', userId)
        await tickets.activityIn(tx, t.id, p.user.id, 'watcher_removed', { user_id: userId })
      })
    },
    async of(ticketId: string): Promise<string[]> {
      const rows = await sql<{ user_id: string }[]>`select user_id from ticket_watchers where ticket_id = ${ticketId}`
      return rows.map((r) => r.user_id)
    },
  }
}

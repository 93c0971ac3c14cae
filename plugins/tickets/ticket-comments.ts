/**
 * The conversation (public comments and internal notes) and the activity log of a ticket
 * (docs/plugins/tickets.md#lifecycle): a comment updates the search vectors, first response and status.
 */
import { forbidden, page, paged, type Page, type Principal } from '../../core/index.ts'
import type { CommentModel, Status } from './schema.ts'
import type { TicketBase } from './ticket-base.ts'
import { cleanText } from './ticket-input.ts'
import {
  staffOf,
  toComment,
  TS_CONFIG,
  type Activity,
  type Comment,
  type CommentRow,
  type TicketRow,
} from './ticket-row.ts'

export function createTicketComments(b: TicketBase) {
  const { sql, now, columns, view, load, requireStaff, refuseClosed, activity, publish, enqueue } = b
  return {
    async listComments(
      p: Principal,
      ref: string,
      q: { skip: number; limit: number; after?: string },
    ): Promise<Page<Comment>> {
      const t = await load(p, ref)
      const where = staffOf(p) ? sql`ticket_id = ${t.id}` : sql`ticket_id = ${t.id} and not is_internal`
      const r = await paged<CommentRow>(sql, { table: 'ticket_comments', where }, q)
      return page(r.items.map(toComment), r, q)
    },

    async addComment(p: Principal, ref: string, input: CommentModel.create): Promise<Comment> {
      const staff = staffOf(p)
      const internal = input.is_internal ?? false
      if (internal && !staff) throw forbidden('Only staff may write internal notes', { field: 'is_internal' })
      const body = cleanText('body_md', input.body_md)
      const result = await sql.begin(async (tx) => {
        const cur = await load(p, ref, tx, true)
        refuseClosed(cur)
        const at = now()
        const [c] = await tx<
          CommentRow[]
        >`insert into ticket_comments (ticket_id, author_id, body_md, is_internal, created_at)
          values (${cur.id}, ${p.user.id}, ${body}, ${internal}, ${at}) returning *`
        const fromRequester = p.user.id === cur.requester_id
        const firstResponse = staff && !internal && !fromRequester && cur.first_response_at === null
        const reopens = fromRequester && !internal && cur.status === 'pending'
        const status: Status = reopens ? (cur.assignee_id ? 'in_progress' : 'open') : cur.status
        const vector = sql`to_tsvector(${TS_CONFIG}::regconfig, ${body})`
        const [row] = await tx<TicketRow[]>`update tickets set
            ${internal ? sql`search_internal = search_internal || ${vector}` : sql`search_public = search_public || ${vector}`},
            first_response_at = ${firstResponse ? at : cur.first_response_at}, status = ${status}, updated_at = ${at}
          where id = ${cur.id} returning ${columns}`
        const changes: Record<string, unknown> = { comment_id: c!.id, is_internal: internal }
        if (firstResponse) changes.first_response_at = { from: null, to: at }
        if (status !== cur.status) changes.status = { from: cur.status, to: status }
        await activity(tx, cur.id, p.user.id, internal ? 'note_added' : 'comment_added', changes)
        return { row: row!, comment: toComment(c!), statusChanged: status !== cur.status, firstResponse, fromRequester }
      })
      const ticket = view(result.row)
      await publish('comment.added', {
        ticket,
        comment: result.comment,
        visibility: internal ? 'internal' : 'public',
        actor_id: p.user.id,
      })
      if (result.statusChanged || result.firstResponse) {
        const changed = [
          ...(result.statusChanged ? ['status'] : []),
          ...(result.firstResponse ? ['first_response_at'] : []),
        ]
        await publish('ticket.updated', { ticket, changed, actor_id: p.user.id })
      }
      if (staff && !internal && !result.fromRequester) {
        await enqueue(
          'tickets.notify-requester',
          { ticket_id: ticket.id, kind: 'reply', comment_id: result.comment.id },
          `tickets:reply:${result.comment.id}`,
        )
      }
      return result.comment
    },

    async activity(
      p: Principal,
      ref: string,
      q: { skip: number; limit: number; after?: string },
    ): Promise<Page<Activity>> {
      const t = await load(p, ref)
      requireStaff(p, 'The activity log')
      const r = await paged<Activity & { created_at: Date }>(
        sql,
        { table: 'ticket_activity', where: sql`ticket_id = ${t.id}` },
        q,
      )
      return page(
        r.items.map((a) => ({
          id: a.id,
          ticket_id: a.ticket_id,
          actor_id: a.actor_id,
          action: a.action,
          changes: a.changes,
          created_at: a.created_at.toISOString(),
        })),
        r,
        q,
      )
    },
  }
}

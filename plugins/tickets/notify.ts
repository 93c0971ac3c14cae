/**
 * Notifications (issue 16 §7): the requester is emailed (through a job, via the email plugin when
 * installed) when staff reply publicly and when the ticket is closed; watchers get a WebSocket
 * notification on every change, and `ticket:<id>` subscribers get the public changes.
 * Internal notes go to staff watchers only: never to the ticket channel, never by email.
 */
import type { Logger, Sql } from '../../core/index.ts'
import type { CsatColumns } from './csat.ts'
import type { createWatchers } from './parts.ts'
import type { EmailPort, WebsocketPort } from './ports.ts'
import type { Comment, Ticket, TicketsService } from './service.ts'

export interface NotifyPayload {
  ticket_id: string
  kind: 'reply' | 'closed'
  comment_id?: string
  actor_id?: string
}

export interface NotifierDeps {
  sql: Sql
  logger: Logger
  tickets: TicketsService
  watchers: ReturnType<typeof createWatchers>
  email?: EmailPort
  websocket?: WebsocketPort
  /** The CSAT survey's URL of a closed ticket (csat.ts), or null when there is none to offer. */
  csatLink?: (row: CsatColumns) => string | null
}

export function createNotifier(d: NotifierDeps) {
  const { sql, logger } = d

  const toWatchers = async (ticket: Ticket, event: { type: string } & Record<string, unknown>, except?: string) => {
    if (!d.websocket) return
    for (const userId of await d.watchers.of(ticket.id)) {
      if (userId === except) continue
      await d.websocket.sendToUser(userId, { ...event, type: 'notification', kind: event.type })
    }
  }

  const safely = async (what: string, fn: () => Promise<void>) => {
    try {
      await fn()
    } catch (err) {
      logger.error(`tickets: ${what} failed`, { error: err })
    }
  }

  return {
    /** Job `tickets.notify-requester`: one email per public staff reply and per close (deduplicated). */
    async emailRequester(p: NotifyPayload): Promise<void> {
      if (!d.email) return
      const [t] = await sql<
        ({
          number: number
          title: string
          requester_id: string
          email: string | null
          status: string
          closed_at: Date | null
        } & CsatColumns)[]
      >`
        select t.number, t.title, t.requester_id, u.email, t.status, t.closed_at, t.csat_nonce, t.csat_token_hash,
          t.csat_issued_at, t.csat_score, t.csat_comment, t.csat_answered_at
        from tickets t join users u on u.id = t.requester_id where t.id = ${p.ticket_id} and t.deleted_at is null`
      if (!t?.email) return
      if (p.kind === 'reply') {
        const [c] = await sql<{ body_md: string; is_internal: boolean }[]>`
          select body_md, is_internal from ticket_comments where id = ${p.comment_id ?? null} and ticket_id = ${p.ticket_id}`
        // Never an internal note, whatever enqueued the job.
        if (!c || c.is_internal) return
        await d.email.send({
          to: t.email,
          subject: `Re: [#${t.number}] ${t.title}`,
          text: `${c.body_md}\n\n-- \nReply to ticket #${t.number}.`,
          tag: 'tickets.reply',
          dedupeKey: `tickets:reply:${p.comment_id}`,
          userId: t.requester_id,
        })
      } else {
        // docs/plugins/tickets.md#csat: the survey of this close, while it is open (not answered,
        // not voided by a reopen since); none when this server cannot rebuild the link.
        const survey = t.csat_answered_at === null ? (d.csatLink?.(t) ?? null) : null
        const ask = survey ? `\n\nHow did we do? Tell us in one click: ${survey}` : ''
        await d.email.send({
          to: t.email,
          subject: `[#${t.number}] ${t.title} is closed`,
          text: `Your ticket #${t.number} "${t.title}" has been closed. Reopen it if the problem persists.${ask}`,
          tag: 'tickets.closed',
          dedupeKey: `tickets:closed:${p.ticket_id}:${t.closed_at?.toISOString() ?? ''}`,
          userId: t.requester_id,
        })
      }
    },

    /** A ticket change: its channel and its watchers. */
    realtime: (ticket: Ticket, type: string, actorId: string, extra: Record<string, unknown> = {}) =>
      safely('realtime notification', async () => {
        if (!d.websocket) return
        const event = { type, ticket, ...extra }
        await d.websocket.broadcastToChannel(`ticket:${ticket.id}`, event)
        await toWatchers(ticket, event, actorId)
      }),

    comment: (e: { ticket: Ticket; comment: Comment; visibility: 'public' | 'internal'; actor_id: string }) =>
      safely('comment notification', async () => {
        if (!d.websocket) return
        const event = { type: 'comment_added', ticket: e.ticket, comment: e.comment }
        if (e.visibility === 'public') await d.websocket.broadcastToChannel(`ticket:${e.ticket.id}`, event)
        await toWatchers(e.ticket, event, e.actor_id)
      }),
  }
}

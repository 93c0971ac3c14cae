/**
 * The ticket and comment rows as read from PostgreSQL, the service's dependencies, and their views
 * (docs/plugins/tickets.md#endpoints). Shared by every part of the tickets service.
 */
import { isStaff, type EventBus, type JobQueue, type Logger, type Principal, type Sql } from '../../core/index.ts'
import type { CsatColumns, CsatHooks } from './csat.ts'
import type { ActivityModel, CommentModel, Priority, Source, Status, TicketModel } from './schema.ts'

export type Ticket = TicketModel.ticket
export type Comment = CommentModel.comment
export type Activity = ActivityModel.entry

export interface TicketRow extends CsatColumns {
  id: string
  number: number
  title: string
  description: string
  status: Status
  priority: Priority
  urgency: number | null
  category: string | null
  subcategory: string | null
  tags: string[]
  requester_id: string
  assignee_id: string | null
  queue_id: string | null
  source: Source
  custom_fields: Record<string, unknown>
  due_at: Date | null
  scheduled_at: Date | null
  first_response_at: Date | null
  resolved_at: Date | null
  closed_at: Date | null
  closed_by: string | null
  sla_policy: string | null
  first_response_due_at: Date | null
  resolution_due_at: Date | null
  created_at: Date
  updated_at: Date
}

export interface CommentRow {
  id: string
  ticket_id: string
  author_id: string
  body_md: string
  is_internal: boolean
  created_at: Date
}

export interface TicketsDeps {
  sql: Sql
  events: EventBus
  jobs: JobQueue
  logger: Logger
  publicUrl: string
  now: () => Date
  /** CSAT tokens (csat.ts): issued by close, voided by reopen, linked in the view. */
  csat: CsatHooks
}

/** The search configuration of both tsvectors and of `q`. */
export const TS_CONFIG = 'english'
const iso = (d: Date | null) => (d ? d.toISOString() : null)

export const staffOf = (p: Principal) => isStaff(p.user.role)

/** A target is breached when it was met late, or is still open past its due time. */
export const breached = (due: Date | null, done: Date | null, now: Date) =>
  due !== null && (done ? done > due : now > due)

export function toTicket(r: TicketRow, now: Date, csatUrl: (r: TicketRow) => string | null): Ticket {
  const t: Ticket = {
    id: r.id,
    number: r.number,
    title: r.title,
    description: r.description,
    status: r.status,
    priority: r.priority,
    urgency: r.urgency,
    category: r.category,
    subcategory: r.subcategory,
    tags: r.tags,
    requester_id: r.requester_id,
    assignee_id: r.assignee_id,
    queue_id: r.queue_id,
    source: r.source,
    custom_fields: r.custom_fields,
    due_at: iso(r.due_at),
    scheduled_at: iso(r.scheduled_at),
    first_response_at: iso(r.first_response_at),
    resolved_at: iso(r.resolved_at),
    closed_at: iso(r.closed_at),
    sla: {
      policy: r.sla_policy,
      first_response_due_at: iso(r.first_response_due_at),
      resolution_due_at: iso(r.resolution_due_at),
      first_response_breached: breached(r.first_response_due_at, r.first_response_at, now),
      resolution_breached: breached(r.resolution_due_at, r.resolved_at, now),
    },
    created_at: r.created_at.toISOString(),
    updated_at: r.updated_at.toISOString(),
  }
  // docs/plugins/tickets.md#csat: from the first close on; a reopen before any answer removes it.
  if (r.csat_token_hash) {
    t.csat = {
      url: csatUrl(r),
      score: r.csat_score,
      comment: r.csat_comment,
      answered_at: iso(r.csat_answered_at),
    }
  }
  return t
}

export const toComment = (r: CommentRow): Comment => ({
  id: r.id,
  ticket_id: r.ticket_id,
  author_id: r.author_id,
  body_md: r.body_md,
  is_internal: r.is_internal,
  created_at: r.created_at.toISOString(),
})

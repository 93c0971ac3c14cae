/**
 * What every part of the tickets service shares: the selected columns, the view, loading a ticket
 * as a principal may see it, the checks, the activity row written in the change's transaction, and
 * publishing events and jobs after the commit (docs/plugins/tickets.md); announce.ts runs a change.
 */
import {
  conflict,
  forbidden,
  isUuid,
  notFound,
  validation,
  type EventBus,
  type Principal,
  type Queryable,
} from '../../core/index.ts'
import type { Priority } from './schema.ts'
import { staffOf, toTicket, TS_CONFIG, type TicketRow, type TicketsDeps } from './ticket-row.ts'

export type TicketBase = ReturnType<typeof createTicketBase>

export function createTicketBase(d: TicketsDeps) {
  const { sql, events, now } = d
  const columns = sql`id, number, title, description, status, priority, urgency, category, subcategory, tags,
    requester_id, assignee_id, queue_id, source, custom_fields, due_at, scheduled_at, first_response_at,
    resolved_at, closed_at, closed_by, sla_policy, first_response_due_at, resolution_due_at,
    csat_nonce, csat_token_hash, csat_issued_at, csat_score, csat_comment, csat_answered_at, created_at, updated_at`
  const view = (r: TicketRow) => toTicket(r, now(), d.csat.link)

  /** `{id}` in a path: the ticket's uuid or its number; anything else matches nothing. */
  const idCondition = (ref: string) => {
    if (/^\d{1,9}$/.test(ref)) return sql`number = ${Number(ref)}`
    if (isUuid(ref)) return sql`id = ${ref}`
    return undefined
  }

  /** The live ticket `ref` as `p` may see it (a requester sees their own only); 404 otherwise. */
  const load = async (p: Principal, ref: string, tx: Queryable = sql, lock = false): Promise<TicketRow> => {
    const cond = idCondition(ref)
    if (!cond) throw notFound('Ticket', ref)
    const mine = staffOf(p) ? sql`` : sql`and requester_id = ${p.user.id}`
    const [row] = lock
      ? await tx<TicketRow[]>`select ${columns} from tickets where ${cond} and deleted_at is null ${mine} for update`
      : await tx<TicketRow[]>`select ${columns} from tickets where ${cond} and deleted_at is null ${mine}`
    if (!row) throw notFound('Ticket', ref)
    return row
  }

  const requireStaff = (p: Principal, what = 'This action') => {
    if (!staffOf(p))
      throw forbidden(`${what} requires a staff role (agent, admin or superadmin)`, { required_role: 'staff' })
  }
  const refuseClosed = (r: TicketRow) => {
    if (r.status === 'closed')
      throw conflict('Ticket is closed: reopen it to change it', { status: 'closed', ticket_id: r.id })
  }

  const activity = (
    tx: Queryable,
    ticketId: string,
    actorId: string | null,
    action: string,
    changes: Record<string, unknown>,
  ) =>
    tx`insert into ticket_activity (ticket_id, actor_id, action, changes, created_at)
      values (${ticketId}, ${actorId}, ${action}, ${sql.json(changes as never)}, ${now()})`

  /** Staff user ids only: assignees, default assignees and watchers. */
  const checkStaffUser = async (tx: Queryable, field: string, userId: string) => {
    const [u] = await tx<{ role: string; is_active: boolean }[]>`select role, is_active from users where id = ${userId}`
    if (!u?.is_active || u.role === 'user')
      throw validation(field, `${field} must be an active staff user (agent, admin or superadmin)`)
  }
  const checkQueue = async (tx: Queryable, queueId: string) => {
    const [q] = await tx<
      { default_assignee_id: string | null }[]
    >`select default_assignee_id from ticket_queues where id = ${queueId}`
    if (!q) throw validation('queue_id', 'queue_id is not an existing queue')
    return q
  }
  const policyOf = async (tx: Queryable, priority: Priority) => {
    const [p] = await tx<{ first_response_minutes: number; resolution_minutes: number }[]>`
      select first_response_minutes, resolution_minutes from ticket_sla_policies where priority = ${priority}`
    return p
  }
  const dueTimes = async (tx: Queryable, priority: Priority, createdAt: Date) => {
    const p = await policyOf(tx, priority)
    if (!p) return { sla_policy: null, first_response_due_at: null, resolution_due_at: null }
    return {
      sla_policy: priority,
      first_response_due_at: new Date(createdAt.getTime() + p.first_response_minutes * 60_000),
      resolution_due_at: new Date(createdAt.getTime() + p.resolution_minutes * 60_000),
    }
  }

  const publish = async <K extends 'ticket.created' | 'ticket.updated' | 'ticket.deleted' | 'comment.added'>(
    name: K,
    payload: Parameters<EventBus['publish']>[1] & object,
  ) => {
    try {
      await events.publish(name as 'ticket.created', payload as never)
    } catch (err) {
      d.logger.error('tickets: event publish failed', { event: name, error: err })
    }
  }

  /** Rewrites both search vectors of a ticket from its title, description and comments. */
  const reindex = (tx: Queryable, id: string) => tx`update tickets t set
      search_public = setweight(to_tsvector(${TS_CONFIG}::regconfig, t.title), 'A')
        || setweight(to_tsvector(${TS_CONFIG}::regconfig, t.description), 'B')
        || coalesce((select to_tsvector(${TS_CONFIG}::regconfig, string_agg(c.body_md, ' ' order by c.created_at))
             from ticket_comments c where c.ticket_id = t.id and not c.is_internal), ''::tsvector),
      search_internal = coalesce((select to_tsvector(${TS_CONFIG}::regconfig, string_agg(c.body_md, ' ' order by c.created_at))
             from ticket_comments c where c.ticket_id = t.id and c.is_internal), ''::tsvector)
    where t.id = ${id}`

  const enqueue = async (name: string, payload: unknown, uniqueKey?: string) => {
    try {
      await d.jobs.enqueue(name, payload, uniqueKey ? { uniqueKey } : undefined)
    } catch (err) {
      d.logger.error('tickets: enqueue failed', { job: name, error: err })
    }
  }

  return {
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
    checkQueue,
    dueTimes,
    publish,
    reindex,
    enqueue,
  }
}

/**
 * Tickets service (docs/plugins/tickets.md): tickets, lifecycle, comments with internal notes, search and the
 * activity log. Plain values in and out; throws AppError. Every change writes its activity row
 * in the transaction of the change; events are published after the commit.
 */
import {
  AppError,
  conflict,
  forbidden,
  isStaff,
  isUuid,
  notFound,
  page,
  paged,
  validation,
  COUNT_CAP,
  type EventBus,
  type JobQueue,
  type Logger,
  type Page,
  type Principal,
  type Queryable,
  type Sql,
} from '../../core/index.ts'
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

interface CommentRow {
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
const MAX_CUSTOM_FIELDS_BYTES = 16_384
const iso = (d: Date | null) => (d ? d.toISOString() : null)
const PATCH_STAFF_ONLY = [
  'status',
  'priority',
  'urgency',
  'assignee_id',
  'queue_id',
  'tags',
  'category',
  'subcategory',
  'due_at',
  'scheduled_at',
  'custom_fields',
] as const

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

const toComment = (r: CommentRow): Comment => ({
  id: r.id,
  ticket_id: r.ticket_id,
  author_id: r.author_id,
  body_md: r.body_md,
  is_internal: r.is_internal,
  created_at: r.created_at.toISOString(),
})

/** True for a real calendar day (JavaScript's Date would turn 2026-02-30 into March 2nd). */
const realDay = (y: number, m: number, d: number) => {
  const t = new Date(Date.UTC(y, m - 1, d))
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d
}

/** A date or date-time value; `endOfDay` turns a bare date into the last instant of that day. */
function parseInstant(field: string, value: string, endOfDay = false): Date {
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(value)
  const ymd = /^(\d{4})-(\d{2})-(\d{2})/.exec(value)
  const d = new Date(dateOnly ? `${value}T00:00:00.000Z` : value)
  if (!ymd || Number.isNaN(d.getTime()) || !realDay(Number(ymd[1]), Number(ymd[2]), Number(ymd[3]))) {
    throw validation(field, `${field} must be an ISO 8601 date or date-time`)
  }
  return dateOnly && endOfDay ? new Date(d.getTime() + 86_400_000 - 1) : d
}

function cleanText(field: string, value: string): string {
  const s = value.trim()
  if (!s) throw validation(field, `${field} must not be blank`)
  return s
}

function cleanTags(tags: string[]): string[] {
  const out: string[] = []
  for (const [i, raw] of tags.entries()) {
    const tag = raw.trim()
    if (!tag) throw validation(`tags.${i}`, 'A tag must not be blank')
    if (!out.includes(tag)) out.push(tag)
  }
  return out
}

function checkCustomFields(value: Record<string, unknown>): Record<string, unknown> {
  if (Object.keys(value).length > 50) throw validation('custom_fields', 'custom_fields holds at most 50 keys')
  if (JSON.stringify(value).length > MAX_CUSTOM_FIELDS_BYTES) {
    throw validation('custom_fields', `custom_fields must serialise to at most ${MAX_CUSTOM_FIELDS_BYTES} bytes`)
  }
  return value
}

const dateOrNull = (field: string, v: string | null) => (v === null ? null : parseInstant(field, v))

export type TicketsService = ReturnType<typeof createTicketsService>
/** The filters of GET /tickets (its query without paging and sort). */
export type ListFilters = Omit<TicketModel.listQuery, 'skip' | 'limit' | 'after' | 'sort'>

export function createTicketsService(d: TicketsDeps) {
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

  /** The list's filters as one condition, narrowed to their own tickets for a requester; the CSV export (export.ts) uses it too. */
  const listWhere = (p: Principal, q: ListFilters) => {
    const staff = staffOf(p)
    let where = sql`deleted_at is null`
    if (!staff) where = sql`${where} and requester_id = ${p.user.id}`
    if (q.status) where = sql`${where} and status = ${q.status}`
    if (q.priority) where = sql`${where} and priority = ${q.priority}`
    if (q.queue_id) where = sql`${where} and queue_id = ${q.queue_id}`
    if (q.assignee_id === 'none') where = sql`${where} and assignee_id is null`
    else if (q.assignee_id)
      where = sql`${where} and assignee_id = ${q.assignee_id === 'me' ? p.user.id : q.assignee_id}`
    if (q.requester_id) where = sql`${where} and requester_id = ${q.requester_id}`
    if (q.tag) where = sql`${where} and tags @> array[${q.tag}::text]`
    if (q.since) where = sql`${where} and created_at >= ${parseInstant('since', q.since)}`
    if (q.until) where = sql`${where} and created_at <= ${parseInstant('until', q.until, true)}`
    const text = q.q?.trim()
    if (text) {
      // websearch_to_tsquery never fails on syntax: quotes, operators and SQL metacharacters are plain text.
      const tsq = sql`websearch_to_tsquery(${TS_CONFIG}::regconfig, ${text})`
      where = staff
        ? sql`${where} and (search_public @@ ${tsq} or search_internal @@ ${tsq})`
        : sql`${where} and search_public @@ ${tsq}`
    }
    return where
  }

  /** Every sort of the list; '-created_at' and '-updated_at' page through paged() there, the export orders by them here. */
  const ORDERS = {
    '-created_at': sql`created_at desc, id desc`,
    '-updated_at': sql`updated_at desc, id desc`,
    priority: sql`priority_rank asc, created_at desc, id desc`,
    '-priority': sql`priority_rank desc, created_at desc, id desc`,
    number: sql`number asc`,
    '-number': sql`number desc`,
    created_at: sql`created_at asc, id asc`,
    updated_at: sql`updated_at asc, id asc`,
  } as const

  return {
    load,
    view,
    requireStaff,

    listWhere,
    orderOf: (sort: keyof typeof ORDERS) => ORDERS[sort],

    async list(p: Principal, q: TicketModel.listQuery): Promise<Page<Ticket>> {
      const where = listWhere(p, q)
      const text = q.q?.trim()
      const sort = q.sort ?? '-created_at'
      if (text && q.after === undefined) {
        // Text search: count the matches first (capped, through the GIN indexes). A rare word
        // would otherwise tempt the planner into walking the created_at index and filtering
        // hundreds of thousands of rows (bench/tickets.md); up to the cap, the matches are
        // fetched apart (a materialized CTE: GIN first) and sorted. Past the cap the word is
        // common and the index order finds a page quickly: the general path below.
        const [c] = await sql<
          { n: number }[]
        >`select count(*)::int as n from (select 1 from tickets where ${where} limit ${COUNT_CAP + 1}) capped`
        const n = c!.n
        if (n <= COUNT_CAP) {
          const order =
            sort === '-created_at'
              ? sql`created_at desc, id desc`
              : sort === '-updated_at'
                ? sql`updated_at desc, id desc`
                : ORDERS[sort]
          const rows =
            n <= q.skip
              ? []
              : await sql<
                  TicketRow[]
                >`with m as materialized (select ${columns}, priority_rank from tickets where ${where})
                  select * from m order by ${order} limit ${q.limit} offset ${q.skip}`
          return page(rows.map(view), { total: n }, q)
        }
      }
      if (sort === '-created_at' || sort === '-updated_at') {
        // Served by tickets_*_created_idx / tickets_updated_idx: reads only the page, count capped.
        const r = await paged<TicketRow>(sql, { table: 'tickets', columns, where, sortKey: sort.slice(1) }, q)
        return page(r.items.map(view), r, q)
      }
      if (q.after !== undefined)
        throw validation('after', 'after works with sort=-created_at and sort=-updated_at only; use skip')
      const rows = await sql<TicketRow[]>`select ${columns} from tickets where ${where}
        order by ${ORDERS[sort]} limit ${q.limit + 1} offset ${q.skip}`
      const more = rows.length > q.limit
      if (more) rows.length = q.limit
      let total = q.skip + rows.length
      let exact = true
      if (more || (rows.length === 0 && q.skip > 0)) {
        const [c] = await sql<
          { n: number }[]
        >`select count(*)::int as n from (select 1 from tickets where ${where} limit ${COUNT_CAP + 1}) capped`
        total = c!.n
        if (total > COUNT_CAP) {
          exact = false
          total = Math.max(COUNT_CAP, q.skip + rows.length + 1)
        }
      }
      return page(rows.map(view), exact ? { total } : { total, total_exact: false }, q)
    },

    async get(p: Principal, ref: string): Promise<Ticket> {
      return view(await load(p, ref))
    },

    async create(p: Principal, input: TicketModel.create, source?: Source): Promise<Ticket> {
      const staff = staffOf(p)
      if (!staff) {
        if (input.queue_id !== undefined) throw forbidden('Only staff may set queue_id', { field: 'queue_id' })
        if (input.requester_id !== undefined && input.requester_id !== p.user.id) {
          throw forbidden('Only staff may open a ticket on behalf of someone else', { field: 'requester_id' })
        }
      }
      const title = cleanText('title', input.title)
      const description = cleanText('description', input.description)
      const tags = cleanTags(input.tags ?? [])
      const custom = checkCustomFields(input.custom_fields ?? {})
      const priority = input.priority ?? 'normal'
      const src: Source = source ?? (p.kind === 'api_key' ? 'api' : 'web')
      const row = await sql.begin(async (tx) => {
        const requesterId = input.requester_id ?? p.user.id
        if (requesterId !== p.user.id) {
          const [u] = await tx`select 1 from users where id = ${requesterId}`
          if (!u) throw validation('requester_id', 'requester_id is not a known user')
        }
        let assigneeId: string | null = null
        if (input.queue_id) assigneeId = (await checkQueue(tx, input.queue_id)).default_assignee_id
        const at = now()
        const due = await dueTimes(tx, priority, at)
        const [r] = await tx<
          TicketRow[]
        >`insert into tickets (title, description, priority, urgency, category, subcategory, tags,
            requester_id, assignee_id, queue_id, source, custom_fields, sla_policy, first_response_due_at, resolution_due_at,
            search_public, created_at, updated_at)
          values (${title}, ${description}, ${priority}, ${input.urgency ?? null}, ${input.category ?? null}, ${input.subcategory ?? null},
            ${tags}::text[], ${requesterId}, ${assigneeId}, ${input.queue_id ?? null}, ${src}, ${sql.json(custom as never)},
            ${due.sla_policy}, ${due.first_response_due_at}, ${due.resolution_due_at},
            setweight(to_tsvector(${TS_CONFIG}::regconfig, ${title}), 'A') || setweight(to_tsvector(${TS_CONFIG}::regconfig, ${description}), 'B'),
            ${at}, ${at})
          returning ${columns}`
        await activity(tx, r!.id, p.user.id, 'created', {
          status: 'open',
          priority,
          source: src,
          ...(assigneeId ? { assignee_id: assigneeId } : {}),
        })
        return r!
      })
      const ticket = view(row)
      await publish('ticket.created', { ticket, actor_id: p.user.id })
      return ticket
    },

    async update(p: Principal, ref: string, input: TicketModel.update): Promise<Ticket> {
      const staff = staffOf(p)
      if (!staff) {
        const field = PATCH_STAFF_ONLY.find((f) => input[f] !== undefined)
        if (field) throw forbidden(`Only staff may change ${field}`, { field })
      }
      const result = await sql.begin(async (tx) => {
        const cur = await load(p, ref, tx, true)
        refuseClosed(cur)
        if (!staff && cur.status !== 'open') {
          throw conflict('A requester may edit the title and description only while the ticket is open', {
            status: cur.status,
          })
        }
        const next: TicketRow = { ...cur }
        if (input.title !== undefined) next.title = cleanText('title', input.title)
        if (input.description !== undefined) next.description = cleanText('description', input.description)
        if (input.priority !== undefined) next.priority = input.priority
        if (input.urgency !== undefined) next.urgency = input.urgency
        if (input.category !== undefined) next.category = input.category
        if (input.subcategory !== undefined) next.subcategory = input.subcategory
        if (input.tags !== undefined) next.tags = cleanTags(input.tags)
        if (input.custom_fields !== undefined) next.custom_fields = checkCustomFields(input.custom_fields)
        if (input.due_at !== undefined) next.due_at = dateOrNull('due_at', input.due_at)
        if (input.scheduled_at !== undefined) next.scheduled_at = dateOrNull('scheduled_at', input.scheduled_at)
        if (input.assignee_id !== undefined) {
          if (input.assignee_id !== null && input.assignee_id !== cur.assignee_id)
            await checkStaffUser(tx, 'assignee_id', input.assignee_id)
          next.assignee_id = input.assignee_id
        }
        if (input.queue_id !== undefined) {
          if (input.queue_id !== null && input.queue_id !== cur.queue_id) await checkQueue(tx, input.queue_id)
          next.queue_id = input.queue_id
        }
        const at = now()
        if (input.status !== undefined && input.status !== cur.status) {
          next.status = input.status
          if (input.status === 'resolved') next.resolved_at = cur.resolved_at ?? at
          else next.resolved_at = null
        }
        const changes: Record<string, { from: unknown; to: unknown }> = {}
        for (const key of [
          'title',
          'description',
          'status',
          'priority',
          'urgency',
          'category',
          'subcategory',
          'tags',
          'custom_fields',
          'due_at',
          'scheduled_at',
          'assignee_id',
          'queue_id',
          'resolved_at',
        ] as const) {
          const a = JSON.stringify(cur[key])
          const b = JSON.stringify(next[key])
          if (a !== b) changes[key] = { from: cur[key], to: next[key] }
        }
        if (Object.keys(changes).length === 0) return { row: cur, changed: [] as string[] }
        let due = {
          sla_policy: cur.sla_policy,
          first_response_due_at: cur.first_response_due_at,
          resolution_due_at: cur.resolution_due_at,
        }
        const repriced = next.priority !== cur.priority
        if (repriced) {
          // docs/plugins/tickets.md: due times follow the priority, from the policy in force now, counted from creation.
          due = await dueTimes(tx, next.priority, cur.created_at)
          changes.sla = {
            from: { first_response_due_at: cur.first_response_due_at, resolution_due_at: cur.resolution_due_at },
            to: { first_response_due_at: due.first_response_due_at, resolution_due_at: due.resolution_due_at },
          }
        }
        const [row] = await tx<TicketRow[]>`update tickets set
            title = ${next.title}, description = ${next.description}, status = ${next.status}, priority = ${next.priority},
            urgency = ${next.urgency}, category = ${next.category}, subcategory = ${next.subcategory}, tags = ${next.tags}::text[],
            custom_fields = ${sql.json(next.custom_fields as never)}, due_at = ${next.due_at}, scheduled_at = ${next.scheduled_at},
            assignee_id = ${next.assignee_id}, queue_id = ${next.queue_id}, resolved_at = ${next.resolved_at},
            sla_policy = ${due.sla_policy}, first_response_due_at = ${due.first_response_due_at}, resolution_due_at = ${due.resolution_due_at},
            first_response_breach_notified_at = ${repriced ? null : sql`first_response_breach_notified_at`},
            resolution_breach_notified_at = ${repriced ? null : sql`resolution_breach_notified_at`},
            updated_at = ${at}
          where id = ${cur.id} returning ${columns}`
        if (changes.title || changes.description) await reindex(tx, cur.id)
        await activity(tx, cur.id, p.user.id, 'updated', changes)
        return { row: row!, changed: Object.keys(changes) }
      })
      const ticket = view(result.row)
      if (result.changed.length)
        await publish('ticket.updated', { ticket, changed: result.changed, actor_id: p.user.id })
      return ticket
    },

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
      const ticket = view(result.row)
      if (result.changed.length)
        await publish('ticket.updated', { ticket, changed: result.changed, actor_id: p.user.id })
      return ticket
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

    async remove(p: Principal, ref: string): Promise<void> {
      const row = await sql.begin(async (tx) => {
        const cur = await load(p, ref, tx, true)
        if (p.user.role !== 'admin' && p.user.role !== 'superadmin') {
          throw forbidden('Deleting a ticket requires the admin role', { required_role: 'admin' })
        }
        const at = now()
        await tx`update tickets set deleted_at = ${at}, updated_at = ${at} where id = ${cur.id}`
        await activity(tx, cur.id, p.user.id, 'deleted', {})
        return cur
      })
      await publish('ticket.deleted', {
        id: row.id,
        number: row.number,
        requester_id: row.requester_id,
        actor_id: p.user.id,
      })
    },

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

    activityIn: activity,
    refuseClosed,
    checkStaffUser,
    checkQueue,
    reindex,
    columns,
  }
}

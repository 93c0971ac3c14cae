/** Opening, editing and deleting tickets (docs/plugins/tickets.md#lifecycle): each change with its activity row. */
import { conflict, forbidden, validation, type Principal } from '../../core/index.ts'
import type { Source, TicketModel } from './schema.ts'
import { createAnnounce } from './announce.ts'
import type { TicketBase } from './ticket-base.ts'
import { checkCustomFields, cleanTags, cleanText, dateOrNull } from './ticket-input.ts'
import { staffOf, TS_CONFIG, type Ticket, type TicketRow } from './ticket-row.ts'

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

export function createTicketWrites(b: TicketBase) {
  const {
    sql,
    now,
    columns,
    view,
    load,
    activity,
    refuseClosed,
    checkStaffUser,
    checkQueue,
    dueTimes,
    publish,
    reindex,
  } = b
  const { changeTicket } = createAnnounce(b)
  return {
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
      return changeTicket(p, ref, 'updated', async (cur, tx) => {
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
        if (Object.keys(changes).length === 0) return undefined
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
        return { row: row!, changes }
      })
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
  }
}

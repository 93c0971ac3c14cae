/** Ticket queues: CRUD and per-queue stats (docs/plugins/tickets.md#endpoints). */
import { conflict, isUuid, notFound, page, validation, type EventBus, type Page, type Sql } from '../../core/index.ts'
import type { QueueModel } from './schema.ts'
import type { TicketsService } from './service.ts'

/** Share of decided tickets that met their SLA (three decimals); null when none was decided. */
const ratio = (met: number, total: number) => (total > 0 ? Math.round((met / total) * 1000) / 1000 : null)

interface QueueRow {
  id: string
  name: string
  description: string | null
  default_assignee_id: string | null
}
const toQueue = (r: QueueRow): QueueModel.queue => ({
  id: r.id,
  name: r.name,
  description: r.description,
  default_assignee_id: r.default_assignee_id,
})
const uniqueViolation = (err: unknown) => (err as { code?: string })?.code === '23505'

export function createQueues(d: { sql: Sql; tickets: TicketsService; events: EventBus; now: () => Date }) {
  const { sql, tickets } = d
  const find = async (id: string): Promise<QueueRow> => {
    if (!isUuid(id)) throw notFound('Queue', id)
    const [row] = await sql<
      QueueRow[]
    >`select id, name, description, default_assignee_id from ticket_queues where id = ${id}`
    if (!row) throw notFound('Queue', id)
    return row
  }
  const nameTaken = (name: string) => conflict(`A queue named "${name}" already exists`, { field: 'name' })
  const cleanName = (name: string) => {
    const s = name.trim()
    if (!s) throw validation('name', 'name must not be blank')
    return s
  }
  return {
    async list(q: { skip: number; limit: number }): Promise<Page<QueueModel.queue>> {
      const rows = await sql<QueueRow[]>`select id, name, description, default_assignee_id from ticket_queues
        order by created_at desc, id desc limit ${q.limit} offset ${q.skip}`
      const [c] = await sql<{ n: number }[]>`select count(*)::int as n from ticket_queues`
      return page(rows.map(toQueue), c!.n, q)
    },
    get: async (id: string) => toQueue(await find(id)),
    async create(input: QueueModel.create) {
      const name = cleanName(input.name)
      try {
        const row = await sql.begin(async (tx) => {
          if (input.default_assignee_id)
            await tickets.checkStaffUser(tx, 'default_assignee_id', input.default_assignee_id)
          const [r] = await tx<
            QueueRow[]
          >`insert into ticket_queues (name, description, default_assignee_id, created_at, updated_at)
            values (${name}, ${input.description ?? null}, ${input.default_assignee_id ?? null}, ${d.now()}, ${d.now()})
            returning id, name, description, default_assignee_id`
          return r!
        })
        return toQueue(row)
      } catch (err) {
        if (uniqueViolation(err)) throw nameTaken(name)
        throw err
      }
    },
    async update(id: string, input: QueueModel.update) {
      const cur = await find(id)
      const name = input.name === undefined ? cur.name : cleanName(input.name)
      try {
        const row = await sql.begin(async (tx) => {
          if (input.default_assignee_id)
            await tickets.checkStaffUser(tx, 'default_assignee_id', input.default_assignee_id)
          const [r] = await tx<QueueRow[]>`update ticket_queues set name = ${name},
              description = ${input.description === undefined ? cur.description : input.description},
              default_assignee_id = ${input.default_assignee_id === undefined ? cur.default_assignee_id : input.default_assignee_id},
              updated_at = ${d.now()}
            where id = ${cur.id} returning id, name, description, default_assignee_id`
          return r
        })
        if (!row) throw notFound('Queue', id)
        return toQueue(row)
      } catch (err) {
        if (uniqueViolation(err)) throw nameTaken(name)
        throw err
      }
    },
    /** 409 while live tickets are in the queue; deleted tickets let go of it. */
    async remove(id: string) {
      const cur = await find(id)
      await sql.begin(async (tx) => {
        await tx`select id from ticket_queues where id = ${cur.id} for update`
        const [held] = await tx<
          { n: number }[]
        >`select count(*)::int as n from tickets where queue_id = ${cur.id} and deleted_at is null`
        if (held!.n > 0)
          throw conflict(`Queue still holds ${held!.n} ticket(s): move or delete them first`, { tickets: held!.n })
        await tx`update tickets set queue_id = null where queue_id = ${cur.id} and deleted_at is not null`
        await tx`delete from ticket_queues where id = ${cur.id}`
      })
    },
    async stats(id: string) {
      const cur = await find(id)
      const now = d.now()
      const today = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()))
      const [s] = await sql<
        {
          open: number
          pending: number
          in_progress: number
          resolved_today: number
          avg_fr: number | null
          decided: number
          met: number
        }[]
      >`
        select
          count(*) filter (where status = 'open')::int as open,
          count(*) filter (where status = 'pending')::int as pending,
          count(*) filter (where status = 'in_progress')::int as in_progress,
          count(*) filter (where resolved_at >= ${today})::int as resolved_today,
          (avg(extract(epoch from (first_response_at - created_at)) * 1000) filter (where first_response_at is not null))::float8 as avg_fr,
          count(*) filter (where first_response_due_at is not null
            and (first_response_at is not null or first_response_due_at < ${now})
            and (resolved_at is not null or resolution_due_at < ${now}))::int as decided,
          count(*) filter (where first_response_due_at is not null
            and first_response_at is not null and first_response_at <= first_response_due_at
            and resolved_at is not null and resolved_at <= resolution_due_at)::int as met
        from tickets where queue_id = ${cur.id} and deleted_at is null`
      return {
        open: s!.open,
        pending: s!.pending,
        in_progress: s!.in_progress,
        resolved_today: s!.resolved_today,
        avg_first_response_ms: s!.avg_fr === null ? null : Math.round(Number(s!.avg_fr)),
        sla_attainment: ratio(s!.met, s!.decided),
      }
    },
  }
}

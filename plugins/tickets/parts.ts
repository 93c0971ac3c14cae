/**
 * The rest of the helpdesk core (docs/plugins/tickets.md): attachments through the files plugin's storage
 * driver, watchers, queues with stats, SLA policies, the SLA breach scan and notifications.
 */
import { randomUUID } from 'node:crypto'
import {
  AppError,
  badRequest,
  conflict,
  forbidden,
  isUuid,
  notFound,
  page,
  paged,
  validation,
  type EventBus,
  type Logger,
  type Page,
  type Principal,
  type Sql,
} from '../../core/index.ts'
import { safeFilename, type StorageDriver } from '../files/index.ts'
import type { AttachmentModel, Priority, QueueModel, SlaModel } from './schema.ts'
import { PRIORITIES } from './schema.ts'
import { staffOf, type TicketRow, type TicketsService } from './service.ts'

/** Lifetime of attachment upload and download URLs. */
export const ATTACHMENT_URL_TTL_SECONDS = 3600

interface AttachmentRow {
  id: string
  ticket_id: string
  uploader_id: string
  filename: string
  key: string
  bytes: string | number
  mime: string
  status: 'pending' | 'uploaded'
  created_at: Date
}

const toAttachment = (r: AttachmentRow): AttachmentModel.attachment => ({
  id: r.id,
  filename: r.filename,
  bytes: Number(r.bytes),
  mime: r.mime,
  created_at: r.created_at.toISOString(),
})

const ratio = (met: number, total: number) => (total > 0 ? Math.round((met / total) * 1000) / 1000 : null)

export function createAttachments(d: {
  sql: Sql
  tickets: TicketsService
  storage: StorageDriver
  maxUploadBytes: number
  now: () => Date
}) {
  const { sql, tickets } = d
  const find = async (ticketId: string, attId: string): Promise<AttachmentRow> => {
    if (!isUuid(attId)) throw notFound('Attachment', attId)
    const [row] = await sql<
      AttachmentRow[]
    >`select * from ticket_attachments where id = ${attId} and ticket_id = ${ticketId}`
    if (!row) throw notFound('Attachment', attId)
    return row
  }
  return {
    async presign(p: Principal, ref: string, input: typeof AttachmentModel.presign.static) {
      const t = await tickets.load(p, ref)
      tickets.refuseClosed(t)
      if (input.bytes > d.maxUploadBytes) {
        throw new AppError('PAYLOAD_TOO_LARGE', `An attachment may hold at most ${d.maxUploadBytes} bytes`, {
          field: 'bytes',
          limit: d.maxUploadBytes,
        })
      }
      const id = randomUUID()
      const filename = safeFilename(input.filename)
      const key = `tickets/${t.id}/${id}/${filename}`
      const mime = input.mime.toLowerCase()
      await sql`insert into ticket_attachments (id, ticket_id, uploader_id, filename, key, bytes, mime, created_at)
        values (${id}, ${t.id}, ${p.user.id}, ${filename}, ${key}, ${input.bytes}, ${mime}, ${d.now()})`
      const target = await d.storage.presignUpload({
        id,
        key,
        size: input.bytes,
        contentType: mime,
        expiresIn: ATTACHMENT_URL_TTL_SECONDS,
      })
      return {
        upload_url: target.url,
        method: target.method,
        headers: target.headers,
        attachment_id: id,
        expires_in: ATTACHMENT_URL_TTL_SECONDS,
      }
    },

    async confirm(p: Principal, ref: string, attId: string) {
      const t = await tickets.load(p, ref)
      tickets.refuseClosed(t)
      const row = await find(t.id, attId)
      if (row.uploader_id !== p.user.id && !staffOf(p)) throw notFound('Attachment', attId)
      if (row.status === 'uploaded') return { id: row.id }
      const stored = await d.storage.head(row.key)
      if (!stored)
        throw badRequest('Attachment not uploaded: PUT the bytes to upload_url, then confirm', { attachment_id: attId })
      if (stored.size !== Number(row.bytes)) {
        throw badRequest(`Stored object is ${stored.size} bytes but ${row.bytes} were declared`, {
          attachment_id: attId,
          declared: Number(row.bytes),
          stored: stored.size,
        })
      }
      await sql.begin(async (tx) => {
        const [done] = await tx`update ticket_attachments set status = 'uploaded', uploaded_at = ${d.now()}
          where id = ${attId} and status = 'pending' returning id`
        if (done) {
          await tickets.activityIn(tx, t.id, p.user.id, 'attachment_added', {
            attachment_id: attId,
            filename: row.filename,
            bytes: Number(row.bytes),
          })
          await tx`update tickets set updated_at = ${d.now()} where id = ${t.id}`
        }
      })
      return { id: row.id }
    },

    async list(
      p: Principal,
      ref: string,
      q: { skip: number; limit: number; after?: string },
    ): Promise<Page<AttachmentModel.attachment>> {
      const t = await tickets.load(p, ref)
      const r = await paged<AttachmentRow>(
        sql,
        { table: 'ticket_attachments', where: sql`ticket_id = ${t.id} and status = 'uploaded'` },
        q,
      )
      return page(r.items.map(toAttachment), r, q)
    },

    async downloadUrl(p: Principal, ref: string, attId: string) {
      const t = await tickets.load(p, ref)
      const row = await find(t.id, attId)
      if (row.status !== 'uploaded')
        throw conflict('Attachment upload has not been confirmed', { attachment_id: attId })
      const url = await d.storage.presignDownload({
        id: row.id,
        key: row.key,
        size: Number(row.bytes),
        contentType: row.mime,
        filename: row.filename,
        expiresIn: ATTACHMENT_URL_TTL_SECONDS,
      })
      return { download_url: url, expires_in: ATTACHMENT_URL_TTL_SECONDS }
    },

    /** The uploader or staff; the object first, so a store failure leaves the row for a retry. */
    async remove(p: Principal, ref: string, attId: string) {
      const t = await tickets.load(p, ref)
      tickets.refuseClosed(t)
      const row = await find(t.id, attId)
      if (row.uploader_id !== p.user.id && !staffOf(p))
        throw forbidden('Only the uploader or staff may delete an attachment')
      await d.storage.delete(row.key)
      await sql.begin(async (tx) => {
        const [gone] = await tx`delete from ticket_attachments where id = ${attId} returning id`
        if (gone && row.status === 'uploaded') {
          await tickets.activityIn(tx, t.id, p.user.id, 'attachment_removed', {
            attachment_id: attId,
            filename: row.filename,
          })
        }
      })
    },
  }
}

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

export function createSlaPolicies(d: { sql: Sql; now: () => Date }) {
  const { sql } = d
  return {
    async list(q: { skip: number; limit: number }): Promise<Page<SlaModel.policy>> {
      const rows = await sql<
        SlaModel.policy[]
      >`select priority, first_response_minutes, resolution_minutes from ticket_sla_policies`
      rows.sort((a, b) => PRIORITIES.indexOf(b.priority) - PRIORITIES.indexOf(a.priority))
      return page(rows.slice(q.skip, q.skip + q.limit), rows.length, q)
    },
    /** Applies to tickets created (or re-prioritised) after it. */
    async put(priority: Priority, input: typeof SlaModel.put.static): Promise<SlaModel.policy> {
      const [row] = await sql<
        SlaModel.policy[]
      >`insert into ticket_sla_policies (priority, first_response_minutes, resolution_minutes, updated_at)
        values (${priority}, ${input.first_response_minutes}, ${input.resolution_minutes}, ${d.now()})
        on conflict (priority) do update set first_response_minutes = excluded.first_response_minutes,
          resolution_minutes = excluded.resolution_minutes, updated_at = excluded.updated_at
        returning priority, first_response_minutes, resolution_minutes`
      return row!
    },
  }
}

/**
 * Marks tickets whose SLA target passed unmet since the last scan and publishes
 * `ticket.sla_breached` once per target. Reading a breach never needs this job (the flags are
 * computed from the due times); it exists for notifications. Returns how many it announced.
 */
export async function scanSlaBreaches(d: {
  sql: Sql
  tickets: TicketsService
  events: EventBus
  logger: Logger
  now: () => Date
}): Promise<number> {
  const { sql, tickets } = d
  const now = d.now()
  let announced = 0
  for (const target of ['first_response', 'resolution'] as const) {
    for (;;) {
      const rows =
        target === 'first_response'
          ? await sql<TicketRow[]>`update tickets set first_response_breach_notified_at = ${now}
              where id in (select id from tickets where deleted_at is null and first_response_at is null
                and first_response_breach_notified_at is null and first_response_due_at < ${now}
                order by first_response_due_at limit 500 for update skip locked)
              returning ${tickets.columns}`
          : await sql<TicketRow[]>`update tickets set resolution_breach_notified_at = ${now}
              where id in (select id from tickets where deleted_at is null and resolved_at is null
                and resolution_breach_notified_at is null and resolution_due_at < ${now}
                order by resolution_due_at limit 500 for update skip locked)
              returning ${tickets.columns}`
      for (const row of rows) {
        announced++
        try {
          await d.events.publish('ticket.sla_breached', { ticket: tickets.view(row), target })
        } catch (err) {
          d.logger.error('tickets: sla_breached publish failed', { error: err })
        }
      }
      if (rows.length < 500) break
    }
  }
  return announced
}

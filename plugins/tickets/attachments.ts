/**
 * Ticket attachments (docs/plugins/tickets.md#endpoints): presigned uploads and downloads through
 * the files plugin's storage driver, confirmed before they count.
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
  type Page,
  type Principal,
  type Sql,
} from '../../core/index.ts'
import { safeFilename, type StorageDriver } from '../files/index.ts'
import type { AttachmentModel } from './schema.ts'
import { staffOf, type TicketsService } from './service.ts'

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

/** Files service: presigned uploads, confirmation against the store, downloads, deletion and cleanup. Throws AppError. */
import { randomUUID } from 'node:crypto'
import {
  AppError,
  badRequest,
  conflict,
  isUuid,
  notFound,
  page,
  paged,
  payloadTooLarge,
  type EventBus,
  type Logger,
  type MeterFn,
  type Page,
  type Sql,
} from '../../core/index.ts'
import { checkMayChange, checkMayUpload, type FileActor, fileActor, filesOf } from './access.ts'
import { keyFilename, objectKey, typeAllowed } from './keys.ts'
import type { FileModel } from './schema.ts'
import type { StorageDriver } from './storage/types.ts'

export type FileView = FileModel.file

export interface FilesDeps {
  sql: Sql
  storage: StorageDriver
  events: EventBus
  meter: MeterFn
  logger: Logger
  maxUploadBytes: number
  allowedTypes: readonly string[]
  urlTtlSeconds: number
  pendingTtlHours: number
  now: () => Date
}

interface Row {
  id: string
  owner_id: string
  org_id: string | null
  key: string
  filename: string
  content_type: string
  size: string
  status: 'pending' | 'uploaded'
  created_at: Date
  uploaded_at: Date | null
}

export const toFile = (r: Row): FileView => ({
  id: r.id,
  filename: r.filename,
  content_type: r.content_type,
  size: Number(r.size),
  status: r.status,
  key: r.key,
  // Only on an organization's file: a personal file reads exactly as before organizations.
  ...(r.org_id ? { org_id: r.org_id } : {}),
  created_at: r.created_at.toISOString(),
  uploaded_at: r.uploaded_at?.toISOString() ?? null,
})

export function createFilesService(d: FilesDeps) {
  const { sql, storage } = d

  /** The file if the caller sees it (docs/plugins/files.md#organizations), else 404. */
  const find = async (a: FileActor, id: string): Promise<Row> => {
    const [row] = isUuid(id) ? await sql<Row[]>`select * from files where id = ${id} and ${filesOf(sql, a)}` : []
    if (!row) throw notFound('File', id)
    return row
  }

  /** The file if the caller may change it: 404 unseen, 403 another member's. */
  const findWritable = async (a: FileActor, id: string): Promise<Row> => {
    const row = await find(a, id)
    checkMayChange(a, row.owner_id)
    return row
  }

  /** 413 over MAX_UPLOAD_BYTES, 422 for a type outside FILES_ALLOWED_TYPES (also for dependents such as tickets). */
  const checkUpload = (size: number, contentType: string, fields = { size: 'size', contentType: 'content_type' }) => {
    if (size > d.maxUploadBytes) throw payloadTooLarge(d.maxUploadBytes)
    if (!typeAllowed(contentType, d.allowedTypes)) {
      const message = `Content type ${contentType} is not allowed`
      throw new AppError('VALIDATION_ERROR', message, {
        field: fields.contentType,
        errors: [{ field: fields.contentType, message }],
        allowed: d.allowedTypes,
      })
    }
  }

  return {
    checkUpload,

    /** `who`: a user id (a personal file) or a FileActor; with an organization active the file is the organization's. */
    async createUpload(who: FileActor | string, input: FileModel.uploadRequest) {
      const a = fileActor(who)
      checkMayUpload(a)
      const contentType = input.content_type.trim()
      checkUpload(input.size, contentType)
      const id = randomUUID()
      const key = objectKey(a.userId, id, input.filename)
      await sql`insert into files (id, owner_id, org_id, key, filename, content_type, size)
        values (${id}, ${a.userId}, ${a.org?.id ?? null}, ${key}, ${keyFilename(key)}, ${contentType}, ${input.size})`
      const target = await storage.presignUpload({ id, key, size: input.size, contentType, expiresIn: d.urlTtlSeconds })
      return {
        upload_url: target.url,
        file_id: id,
        key,
        expires_in: d.urlTtlSeconds,
        method: target.method,
        headers: target.headers,
      }
    },

    /** Marks the file uploaded once the store holds an object of the declared size; again is harmless. */
    async confirm(who: FileActor | string, id: string): Promise<FileView> {
      const a = fileActor(who)
      const row = await findWritable(a, id)
      const ownerId = row.owner_id
      if (row.status === 'uploaded') return toFile(row)
      const stored = await storage.head(row.key)
      if (!stored) {
        throw badRequest(
          'File not uploaded: no object is stored for it yet. PUT the bytes to upload_url, then confirm.',
          { file_id: id, key: row.key },
        )
      }
      if (stored.size !== Number(row.size)) {
        throw badRequest(`Stored object is ${stored.size} bytes but ${row.size} were declared`, {
          file_id: id,
          declared: Number(row.size),
          stored: stored.size,
        })
      }
      const [done] = await sql<Row[]>`update files set status = 'uploaded', uploaded_at = now(), updated_at = now()
        where id = ${id} and status = 'pending' returning *`
      // Lost a race with a concurrent confirm: it did the metering.
      if (!done) return toFile(await find(a, id))
      const file = toFile(done)
      d.meter(ownerId, 'file_uploads', 1, { content_type: file.content_type }, `files:${id}:upload`)
      d.meter(ownerId, 'storage_bytes', file.size, {}, `files:${id}:stored`)
      await d.events.publish('file.uploaded', { file, owner_id: ownerId })
      return file
    },

    async list(who: FileActor | string, query: FileModel.listQuery): Promise<Page<FileView>> {
      const a = fileActor(who)
      const status = query.status ? sql`and status = ${query.status}` : sql``
      // Served by files_owner_created_idx / files_owner_status_created_idx (personal), files_org_* (an organization's).
      const result = await paged<Row>(sql, { table: 'files', where: sql`${filesOf(sql, a)} ${status}` }, query)
      return page(result.items.map(toFile), result, query)
    },

    async get(who: FileActor | string, id: string): Promise<FileView> {
      return toFile(await find(fileActor(who), id))
    },

    async downloadUrl(who: FileActor | string, id: string) {
      const a = fileActor(who)
      const row = await find(a, id)
      if (row.status !== 'uploaded')
        throw conflict('File upload has not been confirmed', { file_id: id, status: row.status })
      const url = await storage.presignDownload({
        id,
        key: row.key,
        size: Number(row.size),
        contentType: row.content_type,
        filename: row.filename,
        expiresIn: d.urlTtlSeconds,
      })
      d.meter(a.userId, 'file_downloads', 1)
      return { download_url: url, expires_in: d.urlTtlSeconds }
    },

    /** The object first: if the store fails (502) the row stays and a retry finishes the job. */
    async remove(who: FileActor | string, id: string): Promise<void> {
      const row = await findWritable(fileActor(who), id)
      await storage.delete(row.key)
      const [gone] = await sql<Row[]>`delete from files where id = ${id} returning *`
      if (!gone) return
      // The uploader's meter, whoever deletes it (an organization admin may).
      const ownerId = gone.owner_id
      if (gone.status === 'uploaded') d.meter(ownerId, 'storage_bytes', -Number(gone.size), {}, `files:${id}:deleted`)
      await d.events.publish('file.deleted', {
        id,
        owner_id: ownerId,
        key: gone.key,
        ...(gone.org_id ? { org_id: gone.org_id } : {}),
      })
    },

    /**
     * Removes every file of a deleted organization (object, then row), 200 at a time, metering
     * each uploader's storage down; returns how many. A store failure throws after the batch, so
     * the job's retry finishes what is left.
     */
    async purgeOrganization(orgId: string): Promise<number> {
      let removed = 0
      for (;;) {
        // Served by files_org_created_idx.
        const rows = await sql<
          Row[]
        >`select * from files where org_id = ${orgId} order by created_at desc, id desc limit 200`
        const done: string[] = []
        let failure: unknown
        for (const r of rows) {
          try {
            await storage.delete(r.key)
            done.push(r.id)
          } catch (err) {
            failure ??= err
          }
        }
        const gone = done.length
          ? await sql<Row[]>`delete from files where id in ${sql(done)} and org_id = ${orgId} returning *`
          : []
        for (const g of gone) {
          if (g.status === 'uploaded')
            d.meter(g.owner_id, 'storage_bytes', -Number(g.size), {}, `files:${g.id}:deleted`)
          await d.events.publish('file.deleted', { id: g.id, owner_id: g.owner_id, key: g.key, org_id: orgId })
        }
        removed += gone.length
        if (failure) throw failure
        if (rows.length < 200) return removed
      }
    },

    /** Removes pending uploads older than FILES_PENDING_TTL_HOURS (object, then row); returns how many. */
    async cleanupPending(): Promise<number> {
      const cutoff = new Date(d.now().getTime() - d.pendingTtlHours * 3_600_000)
      let removed = 0
      for (;;) {
        const rows = await sql<{ id: string; key: string }[]>`select id, key from files
          where status = 'pending' and created_at < ${cutoff} order by created_at limit 200`
        const done: string[] = []
        for (const r of rows) {
          try {
            await storage.delete(r.key)
            done.push(r.id)
          } catch (err) {
            d.logger.warn('pending upload cleanup failed', { file_id: r.id, error: err })
          }
        }
        if (done.length) {
          const gone = await sql`delete from files where id in ${sql(done)} and status = 'pending' returning id`
          removed += gone.length
        }
        if (rows.length < 200 || done.length === 0) return removed
      }
    },
  }
}

export type FilesService = ReturnType<typeof createFilesService>

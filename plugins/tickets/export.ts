/**
 * CSV export (docs/plugins/tickets.md#export): POST /tickets/export streams `text/csv` straight from
 * a PostgreSQL cursor. The first batch is read before the answer starts (so a failing query is
 * still a proper error status); then each batch is read when the response stream asks for more,
 * so memory stays flat whatever the row count and the first bytes leave before the query ends.
 */
import {
  AppError,
  isUuid,
  t,
  validation,
  type Logger,
  type Principal,
  type RouteContext,
  type Sql,
} from '../../core/index.ts'
import { CSV_COLUMNS, csvHeader, csvLines, type CsvRecord, csvSelect } from './export-csv.ts'
import { openCursor } from './export-cursor.ts'
import { TicketModel } from './schema.ts'
import type { ListFilters, TicketsService } from './service.ts'

/**
 * Rows per cursor fetch. Small on purpose (bench/tickets.md#export): whatever is alive when the
 * young-generation collector runs (the batch in hand, its CSV) is promoted and waits for a full
 * collection, so the peak RSS grows with the batch: 1,000,000 rows peaked at 209 MB with batches
 * of 1,000, 158 MB with 200, 142 MB with 100, 133 MB with 50; throughput was best at 100-250.
 */
export const EXPORT_BATCH = 100
/**
 * CSV bytes read ahead of the client. On PGlite (one connection) the cursor holds the database
 * until it ends, so an export that fits here releases it at once whatever the client's pace.
 */
const READ_AHEAD_BYTES = 1 << 20
const MAX_IDS = 10_000

export namespace ExportModel {
  export const filters = t.Omit(TicketModel.listQuery, ['skip', 'limit', 'after'], {
    additionalProperties: false,
    description: "GET /tickets's query keys (without paging); `sort` orders the rows (default -created_at)",
  })
  export const body = t.Object(
    {
      ids: t.Optional(
        t.Array(t.String({ minLength: 1, maxLength: 64, description: 'A ticket id (UUID) or number' }), {
          maxItems: MAX_IDS,
          description: `At most ${MAX_IDS} ticket ids or numbers; with filters, both apply`,
        }),
      ),
      filters: t.Optional(filters),
    },
    { additionalProperties: false },
  )
  export type body = typeof body.static
}

const FILTER_KEYS = new Set(Object.keys(ExportModel.filters.properties))

export interface ExportDeps {
  sql: Sql
  tickets: TicketsService
  logger: Logger
  now: () => Date
  /** Test seam: awaited after each batch is read from the cursor (rows in that batch). */
  onBatch?: (rows: number) => void | Promise<void>
}

export function createExport(d: ExportDeps) {
  const { sql, tickets } = d

  /** The list's filters (422 names `filters.<key>`) and the ids, both applied. */
  const conditionOf = (p: Principal, body: ExportModel.body) => {
    let where
    try {
      where = tickets.listWhere(p, (body.filters ?? {}) as ListFilters)
    } catch (err) {
      const field = err instanceof AppError ? err.details.field : undefined
      if (typeof field === 'string') throw validation(`filters.${field}`, (err as AppError).message)
      throw err
    }
    if (body.ids) {
      const uuids: string[] = []
      const numbers: number[] = []
      for (const [i, ref] of body.ids.entries()) {
        if (/^\d{1,9}$/.test(ref)) numbers.push(Number(ref))
        else if (isUuid(ref)) uuids.push(ref)
        else throw validation(`ids.${i}`, 'Each id must be a ticket id (UUID) or number')
      }
      where = sql`${where} and (id = any(${uuids}::uuid[]) or number = any(${numbers}::int[]))`
    }
    return where
  }

  return {
    /** Staff only (a requester is 403 even for their own tickets). */
    async csv(p: Principal, body: ExportModel.body): Promise<Response> {
      tickets.requireStaff(p, 'Exporting tickets')
      const where = conditionOf(p, body)
      const order = tickets.orderOf(body.filters?.sort ?? '-created_at')
      const now = d.now()
      const cursor = await openCursor<CsvRecord>(
        sql,
        (tx) => tx`select ${csvSelect(tx, now)} from tickets where ${where} order by ${order}`.values(),
        EXPORT_BATCH,
      )
      const encoder = new TextEncoder()
      let rows = 0
      let cancelled = false
      const next = async () => {
        const r = await cursor.next()
        if (r.done) return undefined
        rows += r.value.length
        await d.onBatch?.(r.value.length)
        return encoder.encode(csvLines(r.value))
      }
      let first: Uint8Array | undefined
      try {
        first = await next()
      } catch (err) {
        await cursor.finish(err)
        throw err
      }
      const header = encoder.encode(csvHeader())
      const stream = new ReadableStream<Uint8Array>(
        {
          start(controller) {
            controller.enqueue(header)
            if (first) controller.enqueue(first)
            else {
              controller.close()
              void cursor.finish()
            }
          },
          async pull(controller) {
            try {
              const chunk = await next()
              if (cancelled) return
              if (chunk) controller.enqueue(chunk)
              else {
                controller.close()
                await cursor.finish()
              }
            } catch (err) {
              if (cancelled) return
              d.logger.error('tickets: export failed while streaming', { rows, error: err })
              await cursor.finish(err)
              controller.error(err)
            }
          },
          async cancel() {
            // The client went away: close the cursor and end the transaction.
            cancelled = true
            await cursor.finish()
          },
        },
        { highWaterMark: READ_AHEAD_BYTES, size: (chunk?: Uint8Array) => chunk?.byteLength ?? 0 },
      )
      const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '')
      return new Response(stream, {
        headers: {
          'content-type': 'text/csv; charset=utf-8',
          'content-disposition': `attachment; filename="tickets-${stamp}.csv"`,
          'cache-control': 'no-store',
        },
      })
    },
  }
}

export type TicketExport = ReturnType<typeof createExport>

export const exportRoutes = ({ router }: RouteContext<any>, exporter: TicketExport) =>
  router('/tickets').post('/export', ({ principal, body }) => exporter.csv(principal, body), {
    // Before validation, which would drop an unknown key silently: a misspelt filter must not export everything.
    transform({ body }) {
      const filters = (body as { filters?: unknown } | null)?.filters
      if (!filters || typeof filters !== 'object' || Array.isArray(filters)) return
      for (const key of Object.keys(filters))
        if (!FILTER_KEYS.has(key))
          throw validation(`filters.${key}`, `filters.${key} is not a filter of GET /tickets (the export is not paged)`)
    },
    body: ExportModel.body,
    role: 'staff',
    scope: 'tickets:read',
    detail: {
      summary: 'Export tickets as CSV (staff)',
      description:
        'Streamed `text/csv` (RFC 4180, CRLF), never enveloped, as an attachment. Header: `' +
        CSV_COLUMNS.join(',') +
        "`. `filters` takes the list's query keys; with `ids` too, both apply; with neither, every ticket. " +
        "Tags are `;`-joined; `sla_breached` is `true`/`false`; a cell starting with `=`, `+`, `-`, `@` (or a tab or CR) gets a leading `'`.",
      responses: { 200: { description: 'The CSV file', content: { 'text/csv': { schema: { type: 'string' } } } } },
    },
  })

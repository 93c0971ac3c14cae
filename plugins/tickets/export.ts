/**
 * CSV export (docs/plugins/tickets.md#export): POST /tickets/export streams `text/csv` straight from
 * a PostgreSQL cursor. The first batch is read before the answer starts (so a failing query is
 * still a proper error status); then each batch is read when the response stream asks for more,
 * so memory stays flat whatever the row count and the first bytes leave before the query ends.
 */
import { stringify } from 'csv-stringify/sync'
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
import { TicketModel } from './schema.ts'
import { breached, type ListFilters, type TicketsService } from './service.ts'

export const CSV_COLUMNS = [
  'id',
  'number',
  'title',
  'status',
  'priority',
  'requester_id',
  'assignee_id',
  'queue_id',
  'tags',
  'created_at',
  'first_response_at',
  'resolved_at',
  'closed_at',
  'sla_breached',
] as const

/** Rows per cursor fetch. */
export const EXPORT_BATCH = 1000
/**
 * CSV bytes read ahead of the client. On PGlite (one connection) the cursor holds the database
 * until it ends, so an export that fits here releases it at once whatever the client's pace.
 */
const READ_AHEAD_BYTES = 1 << 20
/** An export (and the connection it holds) ends after this, however slow its client. */
const EXPORT_TIMEOUT_MS = 15 * 60_000
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

interface ExportRow {
  id: string
  number: number
  title: string
  status: string
  priority: string
  requester_id: string
  assignee_id: string | null
  queue_id: string | null
  tags: string[]
  created_at: Date
  first_response_at: Date | null
  resolved_at: Date | null
  closed_at: Date | null
  first_response_due_at: Date | null
  resolution_due_at: Date | null
}

/** A cell a spreadsheet would read as a formula (OWASP CSV injection) gets a leading `'`. */
const FORMULA = /^[=+\-@\t\r]/
const cell = (v: string | null) => (v === null ? '' : FORMULA.test(v) ? `'${v}` : v)
const iso = (d: Date | null) => (d ? d.toISOString() : '')
/** RFC 4180: CRLF between records, and any field holding CR or LF quoted (csv-stringify quotes `,` and `"` itself). */
const CSV_OPTIONS = { record_delimiter: '\r\n', quoted_match: /[\r\n]/ }

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

  const toCsv = (rows: ExportRow[], now: Date) =>
    stringify(
      rows.map((r) => [
        r.id,
        String(r.number),
        cell(r.title),
        r.status,
        r.priority,
        cell(r.requester_id),
        cell(r.assignee_id),
        r.queue_id ?? '',
        cell(r.tags.join(';')),
        iso(r.created_at),
        iso(r.first_response_at),
        iso(r.resolved_at),
        iso(r.closed_at),
        String(
          breached(r.first_response_due_at, r.first_response_at, now) ||
            breached(r.resolution_due_at, r.resolved_at, now),
        ),
      ]),
      CSV_OPTIONS,
    )

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
      const cursor = await openCursor<ExportRow>(
        sql,
        (tx) => tx<ExportRow[]>`select id, number, title, status, priority, requester_id, assignee_id, queue_id, tags,
            created_at, first_response_at, resolved_at, closed_at, first_response_due_at, resolution_due_at
          from tickets where ${where} order by ${order}`,
      )
      const encoder = new TextEncoder()
      const now = d.now()
      let rows = 0
      let cancelled = false
      const next = async () => {
        const r = await cursor.next()
        if (r.done) return undefined
        rows += r.value.length
        await d.onBatch?.(r.value.length)
        return encoder.encode(toCsv(r.value, now))
      }
      let first: Uint8Array | undefined
      try {
        first = await next()
      } catch (err) {
        await cursor.finish(err)
        throw err
      }
      const header = encoder.encode(stringify([[...CSV_COLUMNS]], CSV_OPTIONS))
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

/**
 * A cursor inside a read-only transaction (one snapshot; the statement timeout of the connection
 * would otherwise cancel a long export), kept open until `finish()`.
 *
 * postgres.js closes a cursor only between two batches (`return()` while a `next()` is in flight
 * does nothing), and a transaction ended around a cursor still open never commits: either leaves the
 * connection waiting forever, and on PGlite that is the only connection. So `finish()` first lets a
 * batch in flight land, then closes the cursor unless it ran to its end, then ends the transaction.
 */
async function openCursor<T>(sql: Sql, query: (tx: Sql) => { cursor(rows: number): AsyncIterable<T[]> }) {
  let settle!: (err?: unknown) => void
  const settled = new Promise<void>((resolve, reject) => {
    settle = (err) => (err ? reject(err) : resolve())
  })
  let opened!: (it: AsyncIterator<T[]>) => void
  let failed!: (err: unknown) => void
  const iterator = new Promise<AsyncIterator<T[]>>((resolve, reject) => {
    opened = resolve
    failed = reject
  })
  const tx = sql.begin('read only', async (tx) => {
    await tx`select set_config('statement_timeout', ${String(EXPORT_TIMEOUT_MS)}, true)`
    opened(
      query(tx as unknown as Sql)
        .cursor(EXPORT_BATCH)
        [Symbol.asyncIterator](),
    )
    await settled
  })
  // A failure before the cursor opened rejects `iterator`; a later one is the caller's (finish(err)).
  tx.catch(failed)
  const it = await iterator
  let inFlight: Promise<unknown> | undefined
  let exhausted = false
  let finishing: Promise<void> | undefined
  return {
    async next(): Promise<IteratorResult<T[]>> {
      const p = it.next()
      inFlight = p.catch(() => {})
      try {
        const r = await p
        if (r.done) exhausted = true
        return r
      } catch (err) {
        exhausted = true
        throw err
      } finally {
        inFlight = undefined
      }
    },
    finish(err?: unknown): Promise<void> {
      finishing ??= (async () => {
        await inFlight
        if (!exhausted) await it.return?.()
        settle(err)
        await tx.catch(() => {})
      })()
      return finishing
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

/**
 * The CSV of the export (docs/plugins/tickets.md#export): its header, the SELECT that reads each
 * record's cells, already as text, and a batch of records turned into RFC 4180 text.
 *
 * Where the time goes on 1,000,000 rows (bench/tickets.md#export): parsing seven timestamps into
 * Date objects and printing them back, building an object then an array per row, and
 * csv-stringify's per-cell work. So PostgreSQL prints the cells (ISO 8601 times, the `;`-joined
 * tags, `sla_breached`) and postgres.js hands over arrays of strings in column order (`values()`):
 * the only per-row work left here is the formula check of the free-text cells and the quoting.
 */
import { stringify } from 'csv-stringify/sync'
import type { Sql } from '../../core/index.ts'

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

/** One record: CSV_COLUMNS' cells as PostgreSQL printed them (null = empty cell). */
export type CsvRecord = (string | null)[]

/** to_char's pattern of an ISO 8601 UTC time with milliseconds. */
const ISO = 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'

/** Cells users write (title, requester, assignee, tags): the formula check applies to them only. */
const FREE_TEXT = [2, 5, 6, 8] as const

/**
 * The select list, in CSV_COLUMNS order. Times in Date.prototype.toISOString's shape (UTC,
 * milliseconds truncated, as postgres.js's Date held them). `sla_breached` as the API computes it
 * at `now`: a target with a due time is breached when met after it, or unmet with `now` past it.
 * Aliases are prefixed: the list's ORDER BY names created_at, number and id, which must stay the
 * table's columns (and use its indexes), not these text cells.
 */
export const csvSelect = (sql: Sql, now: Date) => sql`id, number::text as csv_number, title, status, priority,
  requester_id, assignee_id, queue_id, array_to_string(tags, ';') as csv_tags,
  to_char(created_at at time zone 'UTC', ${ISO}) as csv_created,
  to_char(first_response_at at time zone 'UTC', ${ISO}) as csv_first_response,
  to_char(resolved_at at time zone 'UTC', ${ISO}) as csv_resolved,
  to_char(closed_at at time zone 'UTC', ${ISO}) as csv_closed,
  case when (coalesce(first_response_at, ${now}) > first_response_due_at
    or coalesce(resolved_at, ${now}) > resolution_due_at) is true then 'true' else 'false' end as csv_breached`

/** A cell a spreadsheet would read as a formula (OWASP CSV injection) gets a leading `'`. */
const FORMULA = /^[=+\-@\t\r]/
/**
 * RFC 4180: CRLF between records; a field holding `,`, `"`, CR or LF quoted, `"` doubled
 * (`quote_record_delimiter`: csv-stringify otherwise quotes only the whole delimiter, not a lone
 * CR or LF).
 */
const CSV_OPTIONS = { record_delimiter: '\r\n', quote_record_delimiter: true, eof: true }
/**
 * The free-text cells go through csv-stringify as one-cell records, NUL-terminated so its output
 * splits back into cells: PostgreSQL text never holds a NUL byte, so a NUL can only be a
 * terminator, and CR, LF, `,` and `"` are still quoted as with CSV_OPTIONS.
 */
const CELL_OPTIONS = { record_delimiter: '\0', quote_record_delimiter: true, eof: true }

/** The header line, CRLF-terminated. */
export const csvHeader = () => stringify([[...CSV_COLUMNS]], CSV_OPTIONS)

/**
 * Records to CSV text, each CRLF-terminated (the records are reused for the result). Only the
 * free-text cells can need quoting: the others are UUIDs, digits, enum words, ISO times and
 * `true`/`false`. Those four per record are neutralised, then quoted by csv-stringify in one
 * call for the whole batch; each record is then its cells joined by `,` (null = empty).
 */
export function csvLines(records: CsvRecord[]): string {
  const cells: string[][] = []
  for (const r of records) {
    for (const i of FREE_TEXT) {
      const v = r[i] ?? ''
      cells.push([FORMULA.test(v) ? `'${v}` : v])
    }
  }
  const quoted = stringify(cells, CELL_OPTIONS).split('\0')
  let out = ''
  let k = 0
  for (const r of records) {
    for (const i of FREE_TEXT) r[i] = quoted[k++]!
    out += `${r.join(',')}\r\n`
  }
  return out
}

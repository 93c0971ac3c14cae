/**
 * paged(): a list page that reads only its own rows, with a total the index can answer
 * (docs/pagination.md).
 *
 * - The page query orders by `<sort key> desc, id desc` (newest first, id as tie-break, docs/pagination.md)
 *   with LIMIT/OFFSET, so an index on `(<filter columns>, <sort key> desc, id desc)` serves it by
 *   reading `skip + limit + 1` entries. One extra row says whether a next page exists.
 * - The total is a separate `count(*)`, never `count(*) over ()` (which reads and sorts every
 *   matching row). It counts at most `cap + 1` rows: past the cap the total is a lower bound and
 *   the result says `total_exact: false`. A page shorter than `limit` needs no count at all.
 * - Keyset pagination: `after` is an opaque cursor (base64url of the sort key in microseconds and
 *   the id) that `next_after` hands out; the page continues below it with
 *   `(<sort key>, id) < (...)`, so a deep page costs what the first one does.
 */
import type postgres from 'postgres'
import { validation } from '../errors/index.ts'
import { notePage, type PageInfo } from './page-info.ts'
import type { Sql } from './client.ts'
import { isUuid } from './uuid.ts'

/** Counts stop here: a larger total is reported as `COUNT_CAP` (or more) with `total_exact: false`. */
export const COUNT_CAP = 10_000

/** A piece of SQL built with the tagged template (`sql\`...\``), to be placed inside another query. */
export type SqlFragment = postgres.PendingQuery<any>
type Fragment = SqlFragment

export interface PagedQuery {
  skip: number
  limit: number
  /** Cursor from a previous page's `next_after`. */
  after?: string
}

export interface PagedSpec {
  /** Table name (an identifier, quoted by postgres.js). */
  table: string
  /** Selected columns; default `*`. */
  columns?: Fragment
  /** The filter, a full condition (`sql\`owner_id = ${id} and deleted_at is null\``); default `true`. */
  where?: Fragment
  /** A timestamptz column; the order is `<sortKey> desc, id desc`. Default `created_at`. */
  sortKey?: string
  /** Type of the `id` column, checked in a cursor before it reaches SQL. Default `uuid`. */
  idType?: 'uuid' | 'text'
  /** Count cap; default COUNT_CAP. */
  cap?: number
}

/** A page's rows and count; like a v1 list body, the optional fields are there only when they say something. */
export interface Paged<T> extends PageInfo {
  items: T[]
  total: number
  /** Present (false) only when the count stopped at the cap: `total` is then a lower bound. */
  total_exact?: false
  /** Present only when more rows follow. */
  next_after?: string
}

interface Cursor {
  key: string
  id: string
}

/** The cursor of a row: base64url of `<sort key as epoch microseconds>~<id>`. */
export const encodeCursor = (key: string, id: string): string => Buffer.from(`${key}~${id}`).toString('base64url')

const BASE64URL = /^[A-Za-z0-9_-]{1,400}$/

/** Parses a cursor; anything but one this module wrote is 422 VALIDATION_ERROR on `after`. */
export function decodeCursor(after: string, idType: 'uuid' | 'text' = 'uuid'): Cursor {
  const bad = () =>
    validation('after', 'after is not a cursor this list handed out (use next_after from the previous page)')
  if (!BASE64URL.test(after)) throw bad()
  const text = Buffer.from(after, 'base64url').toString('utf8')
  const at = text.indexOf('~')
  if (at < 0) throw bad()
  const key = text.slice(0, at)
  const id = text.slice(at + 1)
  if (!/^-?\d{1,18}$/.test(key)) throw bad()
  if (idType === 'uuid' ? !isUuid(id) : id.length === 0 || id.length > 255 || id.includes('\u0000')) throw bad()
  return { key, id }
}

/**
 * One page of `table` where `where`, newest first. Rejects `after` together with `skip > 0`
 * (422 on `skip`): a cursor already says where the page starts. The result is also noted
 * against `query`, so `page(items, total, query)` in a route carries total_exact and next_after.
 */
export async function paged<T extends object>(sql: Sql, spec: PagedSpec, query: PagedQuery): Promise<Paged<T>> {
  const { skip, limit, after } = query
  const sortKey = spec.sortKey ?? 'created_at'
  const cap = spec.cap ?? COUNT_CAP
  const where = spec.where ?? sql`true`
  if (after !== undefined && skip > 0)
    throw validation('skip', 'skip and after cannot be combined: after already says where the page starts')
  const cursor = after === undefined ? undefined : decodeCursor(after, spec.idType)

  const key = sql(sortKey)
  const below = cursor
    ? sql`and (${key}, id) < (timestamptz 'epoch' + ${cursor.key}::bigint * interval '1 microsecond', ${cursor.id})`
    : sql``
  // The key travels as epoch microseconds (exact: a JS Date would round it to milliseconds).
  const rows = await sql<(T & { __cursor_key: string; id: unknown })[]>`
    select ${spec.columns ?? sql`*`}, (extract(epoch from ${key}) * 1000000)::bigint::text as __cursor_key
    from ${sql(spec.table)} where ${where} ${below}
    order by ${key} desc, id desc
    limit ${limit + 1} offset ${skip}`

  const more = rows.length > limit
  if (more) rows.length = limit
  const last = rows[rows.length - 1]
  const next_after = more && last ? encodeCursor(last.__cursor_key, String(last.id)) : null
  const items = rows.map(({ __cursor_key: _, ...row }) => row as unknown as T)

  let total: number
  let total_exact = true
  if (!cursor && !more && (rows.length > 0 || skip === 0)) {
    // The last page (or an empty list): its own rows are the count.
    total = skip + rows.length
  } else {
    const [c] = await sql<{ n: number }[]>`
      select count(*)::int as n from (select 1 from ${sql(spec.table)} where ${where} limit ${cap + 1}) capped`
    total = c!.n
    if (total > cap) {
      total_exact = false
      // A lower bound: at least the cap, and at least what this page proves exists.
      total = Math.max(cap, cursor ? 0 : skip + rows.length + (more ? 1 : 0))
    }
  }
  const result: Paged<T> = { items, total }
  if (!total_exact) result.total_exact = false
  if (next_after) result.next_after = next_after
  notePage(query, result)
  return result
}

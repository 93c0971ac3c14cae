/**
 * Pagination (docs/pagination.md): skip >= 0, limit 1..100 (default 20), or an `after`
 * cursor; lists are {items, total, skip, limit}, plus `total_exact: false` when the total was
 * capped and `next_after` when more rows exist (both absent otherwise).
 */
import { t } from 'elysia'
import { notedPage, type PageInfo } from '../db/index.ts'
import { validation } from '../errors/index.ts'

export type { PageInfo } from '../db/index.ts'

export const PAGE_MARK = Symbol('omnistack.page')

export interface Page<T> {
  items: T[]
  total: number
  skip: number
  limit: number
  /** Present (false) only when the count stopped at the cap: `total` is then a lower bound. */
  total_exact?: false
  /** Present only when more rows follow: pass it back as `?after=` for the next page. */
  next_after?: string
}

export interface PageQuery {
  skip: number
  limit: number
  after?: string
}

/** The largest `skip` (docs/pagination.md): deeper pages use the `after` cursor, which costs what the first page does. */
export const MAX_SKIP = 100_000

/** Query schema fragment; spread into a route's query: t.Object({ ...pageQuery, search: ... }). */
export const pageQuery = {
  skip: t.Integer({
    minimum: 0,
    maximum: MAX_SKIP,
    default: 0,
    description: `Items to skip, at most ${MAX_SKIP} (not with \`after\`; deeper pages use it)`,
  }),
  limit: t.Integer({ minimum: 1, maximum: 100, default: 20, description: 'Max items (1-100)' }),
  after: t.Optional(
    t.String({
      minLength: 1,
      maxLength: 400,
      pattern: '^[A-Za-z0-9_-]+$',
      description: 'Opaque cursor: the `next_after` of the previous page (keyset pagination, for deep pages)',
    }),
  ),
}

/**
 * A list result; the core renders it raw in v1 and as data + meta.pagination in v2.
 * `total` is a count, or the PageInfo of a paged query (core/db/paged.ts).
 */
export function page<T>(items: T[], total: number | string | PageInfo, query: PageQuery): Page<T> {
  const info = typeof total === 'object' ? total : notedPage(query)
  if (query.after !== undefined && !info) {
    // This list does not page by cursor: answering its first page would silently repeat rows.
    throw validation('after', 'This list does not support the after cursor; use skip')
  }
  const result: Page<T> = {
    items,
    total: Number(typeof total === 'object' ? total.total : total),
    skip: query.skip,
    limit: query.limit,
  }
  if (info?.total_exact === false) result.total_exact = false
  if (info?.next_after) result.next_after = info.next_after
  Object.defineProperty(result, PAGE_MARK, { value: true })
  return result
}

/**
 * A list result: marked by page(), or shaped like one ({items[], total, skip, limit}) — a route's
 * `response` schema check may hand back a copy without the mark.
 */
export function isPage(value: unknown): value is Page<unknown> {
  if (typeof value !== 'object' || value === null) return false
  if (PAGE_MARK in value) return true
  const v = value as Partial<Page<unknown>>
  return (
    Array.isArray(v.items) && typeof v.total === 'number' && typeof v.skip === 'number' && typeof v.limit === 'number'
  )
}

/** meta.pagination of a v2 list: the v1 fields but items, with the same optional ones. */
export function paginationMeta(p: Page<unknown>): Pagination {
  const m: Pagination = { total: p.total, skip: p.skip, limit: p.limit }
  if (p.total_exact === false) m.total_exact = false
  if (typeof p.next_after === 'string') m.next_after = p.next_after
  return m
}

export interface Pagination {
  total: number
  skip: number
  limit: number
  total_exact?: false
  next_after?: string
}

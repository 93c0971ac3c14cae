/** Pagination (SPEC §5): skip >= 0, limit 1..100 (default 20); lists are {items, total, skip, limit}. */
import { t } from 'elysia'

export const PAGE_MARK = Symbol('omnistack.page')

export interface Page<T> {
  items: T[]
  total: number
  skip: number
  limit: number
}

export interface PageQuery {
  skip: number
  limit: number
}

/** Query schema fragment; spread into a route's query: t.Object({ ...pageQuery, search: ... }). */
export const pageQuery = {
  skip: t.Integer({ minimum: 0, default: 0, description: 'Items to skip' }),
  limit: t.Integer({ minimum: 1, maximum: 100, default: 20, description: 'Max items (1-100)' }),
}

/** A list result; the core renders it raw in v1 and as data + meta.pagination in v2. */
export function page<T>(items: T[], total: number | string, query: PageQuery): Page<T> {
  const result = { items, total: Number(total), skip: query.skip, limit: query.limit }
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
  return Array.isArray(v.items) && typeof v.total === 'number' && typeof v.skip === 'number' && typeof v.limit === 'number'
}

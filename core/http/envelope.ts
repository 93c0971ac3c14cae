/**
 * v2 envelope (docs/versioning.md#envelopes): {data, meta}; lists put items in data and pagination in meta
 * ({total, skip, limit}, plus total_exact: false and next_after when they apply: docs/pagination.md).
 */
import { isPage, paginationMeta, type Pagination } from './pagination.ts'

export interface Meta {
  request_id: string
  timestamp: string
  version: 'v2'
  pagination?: Pagination
}

let isoAt = -1
let iso = ''

/** The current time as ISO 8601, formatted once per millisecond (it has no finer precision). */
export function nowIso(): string {
  const t = Date.now()
  if (t !== isoAt) {
    isoAt = t
    iso = new Date(t).toISOString()
  }
  return iso
}

export const meta = (requestId: string): Meta => ({
  request_id: requestId,
  timestamp: nowIso(),
  version: 'v2',
})

export function envelope(value: unknown, requestId: string): { data: unknown; meta: Meta } {
  if (isPage(value)) {
    const m = meta(requestId)
    m.pagination = paginationMeta(value)
    return { data: value.items, meta: m }
  }
  return { data: value, meta: meta(requestId) }
}

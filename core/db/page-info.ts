/**
 * What a paged query learnt besides its rows (core/db/paged.ts, docs/pagination.md), noted
 * against the route's query object: a route that rebuilds its page with
 * page(items, total, query) (core/http/pagination.ts) keeps `total_exact` and `next_after`.
 * Here, below core/http, so that the database layer need not import the HTTP one.
 */
export interface PageInfo {
  total: number | string
  total_exact?: boolean
  next_after?: string | null
}

const noted = new WeakMap<object, PageInfo>()

/** Records a paged query's total_exact / next_after for the page() built from the same `query`. */
export function notePage(query: object, info: PageInfo): void {
  noted.set(query, info)
}

/** What was noted for `query`, if anything. */
export const notedPage = (query: object): PageInfo | undefined => noted.get(query)

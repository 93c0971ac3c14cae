/**
 * GET /tickets: the filters, the sorts and the three ways a page is read (docs/plugins/tickets.md#search-and-lists).
 * The CSV export (export.ts) reuses the filters and the sorts.
 */
import {
  COUNT_CAP,
  decodeCursor,
  encodeCursor,
  page,
  paged,
  validation,
  type Page,
  type Principal,
} from '../../core/index.ts'
import type { TicketModel } from './schema.ts'
import type { TicketBase } from './ticket-base.ts'
import { parseInstant } from './ticket-input.ts'
import { staffOf, TS_CONFIG, type Ticket, type TicketRow } from './ticket-row.ts'

/** The filters of GET /tickets (its query without paging and sort). */
export type ListFilters = Omit<TicketModel.listQuery, 'skip' | 'limit' | 'after' | 'sort'>

export function createTicketList(b: TicketBase) {
  const { sql, columns, view } = b

  /** The list's filters as one condition, narrowed to their own tickets for a requester; the CSV export (export.ts) uses it too. */
  const listWhere = (p: Principal, q: ListFilters) => {
    const staff = staffOf(p)
    let where = sql`deleted_at is null`
    if (!staff) where = sql`${where} and requester_id = ${p.user.id}`
    if (q.status) where = sql`${where} and status = ${q.status}`
    if (q.priority) where = sql`${where} and priority = ${q.priority}`
    if (q.queue_id) where = sql`${where} and queue_id = ${q.queue_id}`
    if (q.assignee_id === 'none') where = sql`${where} and assignee_id is null`
    else if (q.assignee_id)
      where = sql`${where} and assignee_id = ${q.assignee_id === 'me' ? p.user.id : q.assignee_id}`
    if (q.requester_id) where = sql`${where} and requester_id = ${q.requester_id}`
    if (q.tag) where = sql`${where} and tags @> array[${q.tag}::text]`
    if (q.since) where = sql`${where} and created_at >= ${parseInstant('since', q.since)}`
    if (q.until) where = sql`${where} and created_at <= ${parseInstant('until', q.until, true)}`
    const text = q.q?.trim()
    if (text) {
      // websearch_to_tsquery never fails on syntax: quotes, operators and SQL metacharacters are plain text.
      const tsq = sql`websearch_to_tsquery(${TS_CONFIG}::regconfig, ${text})`
      where = staff
        ? sql`${where} and (search_public @@ ${tsq} or search_internal @@ ${tsq})`
        : sql`${where} and search_public @@ ${tsq}`
    }
    return where
  }

  /** Every sort of the list; '-created_at' and '-updated_at' page through paged() there, the export orders by them here. */
  const ORDERS = {
    '-created_at': sql`created_at desc, id desc`,
    '-updated_at': sql`updated_at desc, id desc`,
    priority: sql`priority_rank asc, created_at desc, id desc`,
    '-priority': sql`priority_rank desc, created_at desc, id desc`,
    number: sql`number asc`,
    '-number': sql`number desc`,
    created_at: sql`created_at asc, id asc`,
    updated_at: sql`updated_at asc, id asc`,
  } as const

  /**
   * A page of `q` matches (at most COUNT_CAP of them) newest first by `key`, id as tie-break, with
   * the keyset cursor paged() would hand out: `next_after` continues below the page's last row
   * (docs/plugins/tickets.md#search-and-lists), here or in paged() once the matches pass the cap.
   */
  const searchPage = async (
    where: ReturnType<typeof listWhere>,
    key: 'created_at' | 'updated_at',
    total: number,
    q: TicketModel.listQuery,
  ): Promise<Page<Ticket>> => {
    const cursor = q.after === undefined ? undefined : decodeCursor(q.after)
    const col = sql(key)
    const below = cursor
      ? sql`and (${col}, id) < (timestamptz 'epoch' + ${cursor.key}::bigint * interval '1 microsecond', ${cursor.id})`
      : sql``
    const rows =
      !cursor && total <= q.skip
        ? []
        : await sql<(TicketRow & { cursor_key: string })[]>`with m as materialized (
              select ${columns}, (extract(epoch from ${col}) * 1000000)::bigint::text as cursor_key
              from tickets where ${where} ${below})
            select * from m order by ${col} desc, id desc limit ${q.limit + 1} offset ${q.skip}`
    const more = rows.length > q.limit
    if (more) rows.length = q.limit
    const last = rows[rows.length - 1]
    const info = more && last ? { total, next_after: encodeCursor(last.cursor_key, last.id) } : { total }
    return page(rows.map(view), info, q)
  }

  return {
    listWhere,
    orderOf: (sort: keyof typeof ORDERS) => ORDERS[sort],

    async list(p: Principal, q: TicketModel.listQuery): Promise<Page<Ticket>> {
      const where = listWhere(p, q)
      const text = q.q?.trim()
      const sort = q.sort ?? '-created_at'
      const keyed = sort === '-created_at' || sort === '-updated_at'
      if (text && (q.after === undefined || keyed)) {
        // Text search: count the matches first (capped, through the GIN indexes). A rare word
        // would otherwise tempt the planner into walking the created_at index and filtering
        // hundreds of thousands of rows (bench/tickets.md); up to the cap, the matches are
        // fetched apart (a materialized CTE: GIN first) and sorted. Past the cap the word is
        // common and the index order finds a page quickly: the general path below.
        if (q.after !== undefined && q.skip > 0)
          throw validation('skip', 'skip and after cannot be combined: after already says where the page starts')
        const [c] = await sql<
          { n: number }[]
        >`select count(*)::int as n from (select 1 from tickets where ${where} limit ${COUNT_CAP + 1}) capped`
        const n = c!.n
        if (n <= COUNT_CAP && keyed) return searchPage(where, sort.slice(1) as 'created_at' | 'updated_at', n, q)
        if (n <= COUNT_CAP) {
          const rows =
            n <= q.skip
              ? []
              : await sql<
                  TicketRow[]
                >`with m as materialized (select ${columns}, priority_rank from tickets where ${where})
                  select * from m order by ${ORDERS[sort]} limit ${q.limit} offset ${q.skip}`
          return page(rows.map(view), { total: n }, q)
        }
      }
      if (sort === '-created_at' || sort === '-updated_at') {
        // Served by tickets_*_created_idx / tickets_updated_idx: reads only the page, count capped.
        const r = await paged<TicketRow>(sql, { table: 'tickets', columns, where, sortKey: sort.slice(1) }, q)
        return page(r.items.map(view), r, q)
      }
      if (q.after !== undefined)
        throw validation('after', 'after works with sort=-created_at and sort=-updated_at only; use skip')
      const rows = await sql<TicketRow[]>`select ${columns} from tickets where ${where}
        order by ${ORDERS[sort]} limit ${q.limit + 1} offset ${q.skip}`
      const more = rows.length > q.limit
      if (more) rows.length = q.limit
      let total = q.skip + rows.length
      let exact = true
      if (more || (rows.length === 0 && q.skip > 0)) {
        const [c] = await sql<
          { n: number }[]
        >`select count(*)::int as n from (select 1 from tickets where ${where} limit ${COUNT_CAP + 1}) capped`
        total = c!.n
        if (total > COUNT_CAP) {
          exact = false
          total = Math.max(COUNT_CAP, q.skip + rows.length + 1)
        }
      }
      return page(rows.map(view), exact ? { total } : { total, total_exact: false }, q)
    },
  }
}

/**
 * What a live event is (docs/plugins/tickets.md#live-events-sse): a row of `ticket_stream`, its
 * SSE frame (encoded once, whatever the number of listeners), who may see it, and how rows are
 * read after an id. An SSE `id:` is the row id, so it means the same on every replica.
 */
import { isAdmin, isStaff, type Principal, type Sql } from '../../core/index.ts'

export const STREAM_KINDS = [
  'ticket_created',
  'ticket_updated',
  'ticket_deleted',
  'comment_added',
  'queue_changed',
] as const
export type StreamKind = (typeof STREAM_KINDS)[number]
export type Visibility = 'public' | 'internal' | 'admin'

/** How long rows are kept: Last-Event-ID resumes over at least this window (the contract asks 10 minutes). */
export const RETENTION_MS = 60 * 60_000
/** Default interval of the `:hb` comment (TICKETS_SSE_HEARTBEAT_MS). */
export const HEARTBEAT_MS = 30_000
/** Default bound of what one listener may leave unread before it is dropped. */
export const MAX_BUFFER_BYTES = 1 << 20
/** Rows read per query, by the fan-out and by a resume. */
export const PAGE = 200

export interface Row {
  id: string
  kind: StreamKind
  requester_id: string | null
  visibility: Visibility
  payload: Record<string, unknown>
  /** The encoded SSE frame, built once for every listener. */
  frame?: Uint8Array
}

const encoder = new TextEncoder()
export const encode = (text: string) => encoder.encode(text)
export const HEARTBEAT = encode(':hb\n\n')
export const frameOf = (r: Row) => {
  r.frame ??= encode(`id: ${r.id}\nevent: ${r.kind}\ndata: ${JSON.stringify(r.payload)}\n\n`)
  return r.frame
}

/** Who may see a row: admins everything; staff all but queue changes; a requester their tickets' public events. */
export function visible(p: Principal, r: Row): boolean {
  if (r.visibility === 'admin') return isAdmin(p.user.role)
  if (isStaff(p.user.role)) return true
  return r.visibility === 'public' && r.requester_id === p.user.id
}

/** What `p` may see of the rows after an id, in pages (the requester's through ticket_stream_requester_idx). */
export const replayFilter = (sql: Sql, p: Principal) =>
  isAdmin(p.user.role)
    ? sql``
    : isStaff(p.user.role)
      ? sql`and visibility <> 'admin'`
      : sql`and requester_id = ${p.user.id} and visibility = 'public'`

/** Up to PAGE rows after `after`, in id order, narrowed by `filter` (replayFilter) when given. */
export const readRows = (sql: Sql, after: bigint, filter = sql``) =>
  sql<Row[]>`select id::text as id, kind, requester_id, visibility, payload from ticket_stream
    where id > ${after.toString()} ${filter} order by id limit ${PAGE}`

export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  // nginx and others would otherwise buffer the stream.
  'x-accel-buffering': 'no',
} as const

/**
 * Live events of GET /tickets/events (docs/plugins/tickets.md#live-events-sse).
 *
 * Every ticket change is appended once to `ticket_stream` by the replica that made it: the tickets
 * service publishes its events without `broadcast`, so these handlers run on that replica only,
 * once per event. Appends are serialised (one advisory lock), so ids commit in id order and a
 * reader that has seen id N has seen everything before it. The appended id is then broadcast
 * over the core bus (`ticket_stream.appended`, through Redis across replicas); each replica reads
 * the new rows once, from its cursor, and hands each to the listeners allowed to see it. The same
 * read runs on every heartbeat, so a broadcast lost while Redis is down only delays events.
 *
 * An SSE `id:` is the row id: Last-Event-ID resumes from the table on any replica, for as long as
 * rows are kept (RETENTION_MS, pruned by the job tickets.prune-stream). Each listener has a
 * bounded buffer: a client that stops reading is dropped (its stream errors) rather than buffered
 * without bound; it reconnects and resumes with Last-Event-ID.
 */
import {
  type EventBus,
  type EventMap,
  isAdmin,
  isStaff,
  type Logger,
  type Principal,
  type Sql,
} from '../../core/index.ts'
import type { createQueues } from './parts.ts'
import type { QueueModel } from './schema.ts'

declare module '../../core/index.ts' {
  interface EventMap {
    /** A queue was created, updated or deleted (the live stream's `queue_changed`, admins only). */
    'ticket_queue.changed': {
      action: 'created' | 'updated' | 'deleted'
      queue: QueueModel.queue | { id: string }
    }
    /** A row was appended to ticket_stream (broadcast: every replica reads it for its listeners). */
    'ticket_stream.appended': { id: string }
  }
}

export const STREAM_KINDS = [
  'ticket_created',
  'ticket_updated',
  'ticket_deleted',
  'comment_added',
  'queue_changed',
] as const
export type StreamKind = (typeof STREAM_KINDS)[number]
type Visibility = 'public' | 'internal' | 'admin'

/** How long rows are kept: Last-Event-ID resumes over at least this window (the contract asks 10 minutes). */
export const RETENTION_MS = 60 * 60_000
/** Default interval of the `:hb` comment (TICKETS_SSE_HEARTBEAT_MS). */
export const HEARTBEAT_MS = 30_000
/** Default bound of what one listener may leave unread before it is dropped. */
export const MAX_BUFFER_BYTES = 1 << 20
/** Rows read per query, by the fan-out and by a resume. */
const PAGE = 200
/** Serialises appends so ids commit in order (the series of core/db/migrate.ts and admin). */
const APPEND_LOCK = 7416371240013319n

interface Row {
  id: string
  kind: StreamKind
  requester_id: string | null
  visibility: Visibility
  payload: Record<string, unknown>
  /** The encoded SSE frame, built once for every listener. */
  frame?: Uint8Array
}

interface Listener {
  readonly principal: Principal
  readonly controller: ReadableStreamDefaultController<Uint8Array>
  /** Highest id sent (or the cursor it started from). */
  last: bigint
  /** False while a resume is replayed: live rows wait in `pending`. */
  live: boolean
  pending: Row[]
  closed: boolean
  /** Resolves when the client has read below the buffer's bound (ReadableStream pull). */
  drained?: () => void
  /** Ends the stream when its credential expires (credential-expiry.ts). */
  expiry?: ReturnType<typeof setTimeout>
}

/** The longest delay setTimeout keeps (about 24.8 days); a credential valid longer ends its stream then. */
const MAX_TIMER_MS = 2 ** 31 - 1

export interface TicketStreamOptions {
  sql: Sql
  events: EventBus
  logger: Logger
  now: () => Date
  /** `:hb` interval. @default HEARTBEAT_MS */
  heartbeatMs?: number
  /** Unread bytes after which a listener is dropped. @default MAX_BUFFER_BYTES */
  maxBufferBytes?: number
}

const encoder = new TextEncoder()
const HEARTBEAT = encoder.encode(':hb\n\n')
const frameOf = (r: Row) => {
  r.frame ??= encoder.encode(`id: ${r.id}\nevent: ${r.kind}\ndata: ${JSON.stringify(r.payload)}\n\n`)
  return r.frame
}

/** Who may see a row: admins everything; staff all but queue changes; a requester their tickets' public events. */
function visible(p: Principal, r: Row): boolean {
  if (r.visibility === 'admin') return isAdmin(p.user.role)
  if (isStaff(p.user.role)) return true
  return r.visibility === 'public' && r.requester_id === p.user.id
}

export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  // nginx and others would otherwise buffer the stream.
  'x-accel-buffering': 'no',
} as const

export type TicketStream = ReturnType<typeof createTicketStream>

export function createTicketStream(o: TicketStreamOptions) {
  const { sql, events, logger } = o
  const heartbeatMs = o.heartbeatMs ?? HEARTBEAT_MS
  const maxBufferBytes = o.maxBufferBytes ?? MAX_BUFFER_BYTES
  const listeners = new Set<Listener>()
  /** Every open stream, from its first byte: `listeners` gains one only once its cursor is known. */
  const opened = new Set<Listener>()
  /** Highest row id handed to this replica's listeners; unset while nobody listens. */
  let cursor: bigint | undefined
  let cursorReady: Promise<void> | undefined
  let pumping = false
  let again = false
  let timer: ReturnType<typeof setInterval> | undefined
  const offs: (() => void)[] = []

  const drop = (l: Listener, how: 'close' | 'error', reason: string) => {
    if (l.closed) return
    l.closed = true
    listeners.delete(l)
    opened.delete(l)
    clearTimeout(l.expiry)
    l.drained?.()
    try {
      if (how === 'error') l.controller.error(new Error(reason))
      else l.controller.close()
    } catch {
      // Already closed or cancelled by the client.
    }
    if (listeners.size === 0) {
      clearInterval(timer)
      timer = undefined
      cursor = undefined
    }
  }

  /** Live delivery: never waits; a listener over its bound is dropped. */
  const push = (l: Listener, chunk: Uint8Array) => {
    if (l.closed) return
    l.controller.enqueue(chunk)
    if ((l.controller.desiredSize ?? 0) < 0) {
      logger.warn('tickets: SSE listener dropped (not reading)', { user_id: l.principal.user.id })
      drop(l, 'error', 'listener too slow')
    }
  }

  const send = (l: Listener, r: Row) => {
    const id = BigInt(r.id)
    if (id <= l.last) return
    l.last = id
    if (visible(l.principal, r)) push(l, frameOf(r))
  }

  const offer = (l: Listener, r: Row) => {
    if (l.live) send(l, r)
    else if (l.pending.push(r) > PAGE * 10) drop(l, 'error', 'listener too slow')
  }

  const select = (after: bigint, filter = sql``) =>
    sql<Row[]>`select id::text as id, kind, requester_id, visibility, payload from ticket_stream
      where id > ${after.toString()} ${filter} order by id limit ${PAGE}`

  /** Reads the rows after the cursor and hands them out; concurrent pokes fold into one more pass. */
  const pump = async () => {
    if (pumping) {
      again = true
      return
    }
    pumping = true
    try {
      do {
        again = false
        if (cursor === undefined || listeners.size === 0) break
        const rows = await select(cursor)
        for (const r of rows) {
          const id = BigInt(r.id)
          if (cursor !== undefined && id <= cursor) continue
          cursor = id
          for (const l of listeners) offer(l, r)
        }
        if (rows.length === PAGE) again = true
      } while (again)
    } catch (err) {
      logger.error('tickets: SSE fan-out read failed', { error: err })
    } finally {
      pumping = false
    }
  }

  const beat = () => {
    for (const l of listeners) if (l.live) push(l, HEARTBEAT)
    void pump()
  }

  const ensureCursor = () => {
    if (cursor !== undefined) return Promise.resolve()
    cursorReady ??= (async () => {
      try {
        const [r] = await sql<{ id: string }[]>`select coalesce(max(id), 0)::text as id from ticket_stream`
        cursor ??= BigInt(r!.id)
      } finally {
        cursorReady = undefined
      }
    })()
    return cursorReady
  }

  /** Waits until the client has read below the bound (a resume never overfills the buffer). */
  const room = (l: Listener) =>
    (l.controller.desiredSize ?? 0) > 0 || l.closed
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          l.drained = () => {
            l.drained = undefined
            resolve()
          }
        })

  /** What `p` may see of the rows after `after`, in pages (the requester's through ticket_stream_requester_idx). */
  const replayFilter = (p: Principal) =>
    isAdmin(p.user.role)
      ? sql``
      : isStaff(p.user.role)
        ? sql`and visibility <> 'admin'`
        : sql`and requester_id = ${p.user.id} and visibility = 'public'`

  const begin = async (l: Listener, resumeFrom: bigint | undefined) => {
    try {
      await ensureCursor()
      if (l.closed) return
      if (resumeFrom === undefined) {
        l.last = cursor!
        l.live = true
        return void listeners.add(l)
      }
      // Live rows wait in `pending` while the missed ones are replayed from the table.
      listeners.add(l)
      l.last = resumeFrom
      const filter = replayFilter(l.principal)
      for (;;) {
        const rows = await select(l.last, filter)
        for (const r of rows) {
          if (l.closed) return
          l.last = BigInt(r.id)
          l.controller.enqueue(frameOf(r))
        }
        if (rows.length < PAGE) break
        await room(l)
        if (l.closed) return
      }
      l.live = true
      for (const r of l.pending) send(l, r)
      l.pending = []
    } catch (err) {
      logger.error('tickets: SSE listener failed to start', { error: err })
      drop(l, 'error', 'stream failed')
    }
  }

  /** Appends on this replica run one after another, in the order their events were published. */
  let tail: Promise<unknown> = Promise.resolve()
  const append = (kind: StreamKind, requesterId: string | null, visibility: Visibility, payload: object) => {
    const next = tail.then(() => appendNow(kind, requesterId, visibility, payload))
    tail = next.catch(() => {})
    return next
  }
  const appendNow = async (kind: StreamKind, requesterId: string | null, visibility: Visibility, payload: object) => {
    const [row] = await sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(${APPEND_LOCK.toString()}::int8)`
      return tx<{ id: string }[]>`insert into ticket_stream (kind, requester_id, visibility, payload, created_at)
        values (${kind}, ${requesterId}, ${visibility}, ${sql.json(payload as never)}, ${o.now()})
        returning id::text as id`
    })
    await events.publish('ticket_stream.appended', { id: row!.id }, { broadcast: true })
  }

  const closeWhere = (pred: (l: Listener) => boolean) => {
    for (const l of [...listeners]) if (pred(l)) drop(l, 'close', 'credentials changed')
  }

  return {
    /**
     * The SSE response of one listener; `lastEventId` (digits) resumes after that row; `endsAt`
     * (epoch ms, the credential's expiry) closes the stream then, so the client re-authenticates.
     */
    open(principal: Principal, lastEventId?: string, opts: { endsAt?: number } = {}): Response {
      let listener: Listener | undefined
      const body = new ReadableStream<Uint8Array>(
        {
          start(controller) {
            listener = { principal, controller, last: 0n, live: false, pending: [], closed: false }
            opened.add(listener)
            // Reconnect after 3 s; the comment makes proxies and clients see the stream at once.
            controller.enqueue(encoder.encode('retry: 3000\n:ok\n\n'))
            if (!timer) timer = setInterval(beat, heartbeatMs)
            if (opts.endsAt !== undefined) {
              const l = listener
              const wait = Math.min(Math.max(0, opts.endsAt - Date.now()), MAX_TIMER_MS)
              l.expiry = setTimeout(() => drop(l, 'close', 'credential expired'), wait)
            }
            void begin(listener, lastEventId === undefined ? undefined : BigInt(lastEventId))
          },
          pull() {
            listener?.drained?.()
          },
          cancel() {
            if (listener) drop(listener, 'close', 'client went away')
          },
        },
        { highWaterMark: maxBufferBytes, size: (chunk?: Uint8Array) => chunk?.byteLength ?? 0 },
      )
      return new Response(body, { headers: SSE_HEADERS })
    },

    /** Listeners on this replica (tests, stats). */
    get size() {
      return listeners.size
    },

    /** Subscribes the appenders (once per event, on the publishing replica) and the fan-out. */
    start() {
      const on = <K extends keyof EventMap & string>(name: K, fn: (e: EventMap[K]) => Promise<void> | void) =>
        offs.push(
          events.subscribe(name, async (e) => {
            try {
              await fn(e as EventMap[K])
            } catch (err) {
              logger.error('tickets: live event not recorded', { event: name, error: err })
            }
          }),
        )
      on('ticket.created', ({ ticket }) => append('ticket_created', ticket.requester_id, 'public', { ticket }))
      on('ticket.updated', ({ ticket, changed }) =>
        append('ticket_updated', ticket.requester_id, 'public', { ticket, changed }),
      )
      on('ticket.deleted', ({ id, number, requester_id }) =>
        append('ticket_deleted', requester_id, 'public', { ticket: { id, number, requester_id } }),
      )
      on('comment.added', ({ ticket, comment, visibility }) =>
        append('comment_added', ticket.requester_id, visibility === 'internal' ? 'internal' : 'public', {
          ticket,
          comment,
        }),
      )
      on('ticket_queue.changed', ({ action, queue }) => append('queue_changed', null, 'admin', { action, queue }))
      on('ticket_stream.appended', () => pump())
      // A role or activation change, a revoked key or an ended impersonation: the client reconnects
      // and is authenticated again.
      on('user.changed', ({ id }) => closeWhere((l) => l.principal.user.id === id))
      for (const name of ['api_key.revoked', 'impersonation.ended']) {
        offs.push(
          events.subscribe(name, (e) => {
            const id = (e as { id?: unknown } | undefined)?.id
            if (typeof id === 'string') closeWhere((l) => l.principal.credentialId === id)
          }),
        )
      }
    },

    stop() {
      for (const off of offs.splice(0)) off()
      // Streams still starting too: their cursor read may finish after this.
      for (const l of [...opened]) drop(l, 'close', 'server stopping')
      clearInterval(timer)
      timer = undefined
    },

    /** Job tickets.prune-stream: rows past the retention window. */
    async prune(): Promise<number> {
      const cutoff = new Date(o.now().getTime() - RETENTION_MS)
      const r = await sql`delete from ticket_stream where created_at < ${cutoff}`
      return r.count
    },
  }
}

/** The queues service, announcing each change as `ticket_queue.changed` (published once, locally). */
export function withQueueEvents(queues: ReturnType<typeof createQueues>, events: EventBus) {
  const announce = async (action: 'created' | 'updated' | 'deleted', queue: QueueModel.queue | { id: string }) => {
    await events.publish('ticket_queue.changed', { action, queue })
  }
  return {
    ...queues,
    async create(input: QueueModel.create) {
      const q = await queues.create(input)
      await announce('created', q)
      return q
    },
    async update(id: string, input: QueueModel.update) {
      const q = await queues.update(id, input)
      await announce('updated', q)
      return q
    },
    async remove(id: string) {
      await queues.remove(id)
      await announce('deleted', { id })
    },
  }
}

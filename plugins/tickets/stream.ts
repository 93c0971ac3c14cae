/**
 * The listeners of GET /tickets/events on this replica (docs/plugins/tickets.md#live-events-sse).
 *
 * Rows are recorded once by the replica that made the change (stream-append.ts), and their id is
 * broadcast over the core bus; each replica reads the new rows once, from its cursor, and hands
 * each to the listeners allowed to see it (stream-rows.ts). The same read runs on every
 * heartbeat, so a broadcast lost while Redis is down only delays events.
 *
 * Last-Event-ID resumes from the table on any replica, for as long as rows are kept. Each listener
 * has a bounded buffer: a client that stops reading is dropped (its stream errors) rather than
 * buffered without bound; it reconnects and resumes with Last-Event-ID. At shutdown the plugin's
 * drain hook ends every stream with a reconnect hint, so the server does not wait for them.
 */
import type { EventBus, Logger, Principal, Sql } from '../../core/index.ts'
import { createStreamAppender, subscribeLogged } from './stream-append.ts'
import {
  encode,
  frameOf,
  HEARTBEAT,
  HEARTBEAT_MS,
  MAX_BUFFER_BYTES,
  PAGE,
  readRows,
  replayFilter,
  type Row,
  SSE_HEADERS,
  visible,
} from './stream-rows.ts'

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

/**
 * The last frame of a stream ended by shutdown: reconnect in 1 to 4 s (spread, so a replica's
 * clients do not all arrive at once; the next stream's own `retry:` restores 3 s).
 */
const goAway = () => encode(`retry: ${1000 + Math.floor(Math.random() * 3000)}\n:draining\n\n`)

export type TicketStream = ReturnType<typeof createTicketStream>

export function createTicketStream(o: TicketStreamOptions) {
  const { sql, events, logger } = o
  const appender = createStreamAppender(o)
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
  /** Set by drain(): the server is shutting down, so streams end (and new ones end at once). */
  let draining = false

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
        const rows = await readRows(sql, cursor)
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
      const filter = replayFilter(sql, l.principal)
      for (;;) {
        const rows = await readRows(sql, l.last, filter)
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
            // Accepted just before the listener closed: end at once, with the hint.
            if (draining) {
              controller.enqueue(goAway())
              return controller.close()
            }
            listener = { principal, controller, last: 0n, live: false, pending: [], closed: false }
            opened.add(listener)
            // Reconnect after 3 s; the comment makes proxies and clients see the stream at once.
            controller.enqueue(encode('retry: 3000\n:ok\n\n'))
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
      offs.push(...appender.subscribe())
      offs.push(subscribeLogged(events, logger, 'ticket_stream.appended', () => pump()))
      // A role or activation change, a revoked key or an ended impersonation: the client reconnects
      // and is authenticated again.
      offs.push(
        subscribeLogged(events, logger, 'user.changed', ({ id }) => closeWhere((l) => l.principal.user.id === id)),
      )
      offs.push(
        subscribeLogged(events, logger, 'credential.revoked', ({ id }) =>
          closeWhere((l) => l.principal.credentialId === id),
        ),
      )
    },

    /**
     * Shutdown has begun (the plugin's drain hook): every stream, still starting or live, ends now
     * after a reconnect hint, and a stream opened from now on ends at once. An open stream is an
     * in-flight request: left open, it would hold the server's drain until SHUTDOWN_TIMEOUT_MS.
     * Clients reconnect (to another replica: this one stops accepting) and resume with Last-Event-ID.
     */
    drain() {
      draining = true
      for (const l of [...opened]) {
        try {
          if (!l.closed) l.controller.enqueue(goAway())
        } catch {
          // Already cancelled by the client.
        }
        drop(l, 'close', 'server draining')
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
    prune: () => appender.prune(),
  }
}

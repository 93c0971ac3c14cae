/**
 * Recording live events (docs/plugins/tickets.md#live-events-sse).
 *
 * Every ticket change is appended once to `ticket_stream` by the replica that made it: the tickets
 * service publishes its events without `broadcast`, so these handlers run on that replica only,
 * once per event. Appends are serialised (one advisory lock), so ids commit in id order and a
 * reader that has seen id N has seen everything before it. The appended id is then broadcast
 * over the core bus (`ticket_stream.appended`, through Redis across replicas) for the fan-out
 * (stream.ts). Rows are kept RETENTION_MS, pruned by the job tickets.prune-stream.
 */
import type { EventBus, EventMap, Logger, Sql } from '../../core/index.ts'
import { RETENTION_MS, type StreamKind, type Visibility } from './stream-rows.ts'

declare module '../../core/index.ts' {
  interface EventMap {
    /** A row was appended to ticket_stream (broadcast: every replica reads it for its listeners). */
    'ticket_stream.appended': { id: string }
  }
}

/** Serialises appends so ids commit in order (the series of core/db/migrate.ts and admin). */
const APPEND_LOCK = 7416371240013319n

/** Subscribes `fn` to a bus event; a failure is logged, never thrown back at the publisher. Returns the unsubscriber. */
export function subscribeLogged<K extends keyof EventMap & string>(
  events: EventBus,
  logger: Logger,
  name: K,
  fn: (e: EventMap[K]) => Promise<void> | void,
) {
  return events.subscribe(name, async (e) => {
    try {
      await fn(e as EventMap[K])
    } catch (err) {
      logger.error('tickets: live event not recorded', { event: name, error: err })
    }
  })
}

export function createStreamAppender(o: { sql: Sql; events: EventBus; logger: Logger; now: () => Date }) {
  const { sql, events, logger } = o

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

  return {
    /** Subscribes the appenders (once per event, on the publishing replica); returns the unsubscribers. */
    subscribe(): (() => void)[] {
      const on = <K extends keyof EventMap & string>(name: K, fn: (e: EventMap[K]) => Promise<void> | void) =>
        subscribeLogged(events, logger, name, fn)
      return [
        on('ticket.created', ({ ticket }) => append('ticket_created', ticket.requester_id, 'public', { ticket })),
        on('ticket.updated', ({ ticket, changed }) =>
          append('ticket_updated', ticket.requester_id, 'public', { ticket, changed }),
        ),
        on('ticket.deleted', ({ id, number, requester_id }) =>
          append('ticket_deleted', requester_id, 'public', { ticket: { id, number, requester_id } }),
        ),
        on('comment.added', ({ ticket, comment, visibility }) =>
          append('comment_added', ticket.requester_id, visibility === 'internal' ? 'internal' : 'public', {
            ticket,
            comment,
          }),
        ),
        on('ticket_queue.changed', ({ action, queue }) => append('queue_changed', null, 'admin', { action, queue })),
      ]
    },

    /** Job tickets.prune-stream: rows past the retention window. */
    async prune(): Promise<number> {
      const cutoff = new Date(o.now().getTime() - RETENTION_MS)
      const r = await sql`delete from ticket_stream where created_at < ${cutoff}`
      return r.count
    },
  }
}

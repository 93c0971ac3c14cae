/**
 * Durable event subscribers (docs/jobs-and-events.md#durable-events): a transactional outbox on the
 * job queue. A plugin names a job it owns as the subscriber of an event; the publisher, inside the
 * transaction of its change, enqueues one job per subscriber. The jobs exist only if that
 * transaction commits, survive a crash right after it, run once per change whatever the number of
 * replicas (only the publisher enqueues), and each retries on its own.
 */
import type postgres from 'postgres'
import type { EventMap, EventName } from '../events/index.ts'
import type { JobHandler } from './types.ts'

export interface DurableSubscriberOptions {
  /** Attempts of each of this subscriber's jobs. @default 5 */
  maxAttempts?: number
  /** Base of the backoff between attempts. @default 1000 */
  backoffMs?: number
}

/** One job this publish enqueued: the subscriber's job name and the job's id. */
export interface DurableJob {
  job: string
  id: string
}

type Enqueue = (
  name: string,
  payload: unknown,
  options: DurableSubscriberOptions & { tx: postgres.TransactionSql<{}> },
) => Promise<{ id: string }>

interface Subscriber {
  job: string
  options: DurableSubscriberOptions
}

export function createDurableEvents(d: { enqueue: Enqueue; register: (job: string, handler: JobHandler) => void }) {
  const subscribers = new Map<string, Subscriber[]>()
  const handlers = new Map<string, JobHandler>()

  return {
    /**
     * `job` (named `<plugin>.<verb-noun>`, owned by the caller) runs for every committed publish of
     * each of `events`, with the event's payload. A job may subscribe to several events (its
     * handler then gets any of their payloads); registering it twice under one name with two
     * handlers is refused, as for any job.
     */
    subscribe<K extends EventName>(
      events: K | readonly K[],
      job: string,
      handler: JobHandler<EventMap[K]>,
      options: DurableSubscriberOptions = {},
    ) {
      const names = (typeof events === 'string' ? [events] : [...events]) as string[]
      if (names.length === 0) throw new Error(`subscribeDurable ${job}: name at least one event`)
      // Checked at boot, not at the first publish, where it would fail the publisher's change.
      const { maxAttempts = 5, backoffMs = 0 } = options
      if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || !Number.isInteger(backoffMs) || backoffMs < 0)
        throw new Error(`subscribeDurable ${job}: maxAttempts must be an integer >= 1, backoffMs >= 0`)
      const known = handlers.get(job)
      if (known === undefined) {
        d.register(job, handler as JobHandler)
        handlers.set(job, handler as JobHandler)
      } else if (known !== handler) {
        throw new Error(`Durable subscriber "${job}" is already registered with another handler`)
      }
      for (const name of names) {
        const list = subscribers.get(name) ?? []
        if (list.some((s) => s.job === job)) throw new Error(`"${job}" already subscribes to "${name}"`)
        subscribers.set(name, [...list, { job, options }])
      }
    },

    /** Inside the publisher's transaction: one job per durable subscriber of `event`, in `tx`. */
    async publish<K extends EventName>(
      tx: postgres.TransactionSql<{}>,
      event: K,
      payload: EventMap[K],
    ): Promise<DurableJob[]> {
      const out: DurableJob[] = []
      // One after the other: a transaction runs one statement at a time anyway.
      for (const s of subscribers.get(event) ?? []) {
        const { id } = await d.enqueue(s.job, payload, { ...s.options, tx })
        out.push({ job: s.job, id })
      }
      return out
    },
  }
}

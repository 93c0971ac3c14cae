/** createJobQueue(): the Postgres-backed job queue's public API (docs/jobs-and-events.md#jobs). */
import { hostname } from 'node:os'
import { randomBytes } from 'node:crypto'
import type postgres from 'postgres'
import type { Sql } from '../db/index.ts'
import { paged, type Paged, isUuid } from '../db/index.ts'
import { conflict, notFound } from '../errors/index.ts'
import type { EventMap, EventName } from '../events/index.ts'
import { silentLogger, type Logger } from '../observability/index.ts'
import { createDurableEvents, type DurableJob, type DurableSubscriberOptions } from './durable.ts'
import { createScheduler, toJson } from './schedule.ts'
import { createWorker, type JobOutcome } from './worker.ts'
import type { JobHandler } from './types.ts'

export type { JobHandler, JobInfo } from './types.ts'
export type { DurableJob, DurableSubscriberOptions } from './durable.ts'

/** `failed` = will be retried at `run_at`; `dead` = out of attempts (an admin may retry it). */
export type JobState = 'queued' | 'running' | 'completed' | 'failed' | 'dead'
export const JOB_STATES: readonly JobState[] = ['queued', 'running', 'completed', 'failed', 'dead']

export interface EnqueueOptions {
  /** Not before this time. @default now */
  runAt?: Date
  /** While a job with this name and key is queued, running or failed, enqueue returns it instead. */
  uniqueKey?: string
  /** @default 5 */
  maxAttempts?: number
  /** Base of the exponential backoff between attempts (with jitter). @default 1000 */
  backoffMs?: number
  /**
   * Insert within this transaction: the job exists only if it commits (a transactional outbox).
   * Required to enqueue inside `sql.begin()` on PGlite, whose single connection the transaction holds.
   */
  tx?: postgres.TransactionSql<{}>
}

export interface JobView {
  id: string
  name: string
  /** The name up to its first dot: `contact.send-email` is in queue `contact`. */
  queue: string
  state: JobState
  payload: unknown
  attempts: number
  max_attempts: number
  last_error: string | null
  run_at: Date
  created_at: Date
  updated_at: Date
  completed_at: Date | null
}

export interface JobListQuery {
  state?: JobState
  /** A queue (`contact`: every `contact.*` job) or, when it contains a dot, one exact job name. */
  queue?: string
  skip: number
  limit: number
  /** Cursor from a previous page's next_after (core/db/paged.ts). */
  after?: string
}

export interface JobStats {
  queued: number
  running: number
  /** Failed jobs waiting for their next attempt, and dead ones, right now. */
  failed: number
  dead: number
  completed_last_24h: number
  /** Jobs whose latest attempt failed (retrying or dead) in the last 24 hours. */
  failed_last_24h: number
}

export interface JobQueue {
  enqueue(name: string, payload?: unknown, options?: EnqueueOptions): Promise<{ id: string; created: boolean }>
  register(name: string, handler: JobHandler): void
  /**
   * A durable subscriber (docs/jobs-and-events.md#durable-events): registers `job` with `handler`
   * and enqueues it, with the event's payload, whenever a publisher commits one of `events` through
   * publishDurable. Runs at least once per publish: keep the handler idempotent.
   */
  subscribeDurable<K extends EventName>(
    events: K | readonly K[],
    job: string,
    handler: JobHandler<EventMap[K]>,
    options?: DurableSubscriberOptions,
  ): void
  /**
   * Inside the publisher's transaction: one job per durable subscriber of `event` (none without
   * subscribers), existing only if `tx` commits. Announce the change on the bus after the commit.
   */
  publishDurable<K extends EventName>(
    tx: postgres.TransactionSql<{}>,
    event: K,
    payload: EventMap[K],
  ): Promise<DurableJob[]>
  /** Recurring: one job per cron tick (UTC) across all replicas; only replicas that `start()` fire. */
  schedule(name: string, cron: string, payload?: unknown): void
  /** Start polling, running handlers and firing schedules. */
  start(): void
  /** Stop taking jobs and wait for the running ones. Idempotent. */
  stop(): Promise<void>
  /** Run every due job now and wait for them (tests, CLIs); returns how many ran. */
  runDue(): Promise<number>
  /** Newest first, id as tie-break (docs/pagination.md). */
  list(query: JobListQuery): Promise<Paged<JobView> & { skip: number; limit: number }>
  get(id: string): Promise<JobView | undefined>
  /** Requeue a failed or dead job now with a fresh set of attempts (last_error is kept). */
  /** Requeues a failed or dead job; pass `tx` to do it inside the caller's transaction (with its audit entry). */
  retry(id: string, options?: { tx?: Sql }): Promise<JobView>
  stats(): Promise<JobStats>
}

export interface JobQueueOptions {
  sql: Sql
  logger?: Logger
  /** @default 1000 */
  pollIntervalMs?: number
  /** Jobs this process runs at once. @default 5 */
  concurrency?: number
  /** @default `<hostname>:<pid>:<random>` */
  workerId?: string
  /** A running job whose worker stops renewing this lease is retried by another worker. @default 60000 */
  leaseMs?: number
  /** How long finished jobs stay listable. @default { completedMs: 7 days, deadMs: 30 days } */
  retention?: { completedMs?: number; deadMs?: number }
  /** Called after each attempt (metrics, tests). */
  onJobDone?: (job: JobOutcome) => void
  /** Clock for schedules (tests). @default () => new Date() */
  now?: () => Date
}

const COLUMNS =
  'id, name, queue, state, payload, attempts, max_attempts, last_error, run_at, created_at, updated_at, completed_at'
const LIVE = ['queued', 'running', 'failed']

export function createJobQueue(options: JobQueueOptions): JobQueue {
  const { sql } = options
  const logger = options.logger ?? silentLogger
  const handlers = new Map<string, JobHandler>()
  const scheduler = createScheduler(sql, logger)
  const worker = createWorker({
    sql,
    logger,
    handlers,
    scheduler,
    workerId: options.workerId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`,
    pollIntervalMs: options.pollIntervalMs ?? 1000,
    concurrency: options.concurrency ?? 5,
    leaseMs: options.leaseMs ?? 60_000,
    completedRetentionMs: options.retention?.completedMs ?? 7 * 86400_000,
    deadRetentionMs: options.retention?.deadMs ?? 30 * 86400_000,
    onJobDone: options.onJobDone,
    now: options.now ?? (() => new Date()),
  })
  const warned = new Set<string>()
  const durable = createDurableEvents({
    enqueue: (name, payload, o) => queue.enqueue(name, payload, o),
    register: (name, handler) => queue.register(name, handler),
  })

  const view = (id: string) =>
    sql.unsafe<JobView[]>(`select ${COLUMNS} from jobs where id = $1`, [id]).then((r) => r[0])

  const queue: JobQueue = {
    async enqueue(name, payload, opts = {}) {
      if (!name) throw new Error('enqueue: a job name is required')
      const maxAttempts = opts.maxAttempts ?? 5
      const backoffMs = opts.backoffMs ?? 1000
      if (!Number.isInteger(maxAttempts) || maxAttempts < 1)
        throw new Error(`enqueue ${name}: maxAttempts must be an integer >= 1`)
      if (!Number.isInteger(backoffMs) || backoffMs < 0)
        throw new Error(`enqueue ${name}: backoffMs must be an integer >= 0`)
      if (!handlers.has(name) && !warned.has(name)) {
        warned.add(name)
        logger.warn('job enqueued without a registered handler; it stays queued until one is', { job: name })
      }
      const uniqueKey = opts.uniqueKey ?? null
      const db = (opts.tx ?? sql) as Sql
      // The unique job can finish between the insert's conflict and the lookup: try again then.
      for (let i = 0; i < 3; i++) {
        const inserted = await db<{ id: string }[]>`
          insert into jobs (name, payload, unique_key, max_attempts, backoff_ms, run_at)
          values (${name}, ${toJson(db, payload)}::jsonb, ${uniqueKey}, ${maxAttempts}, ${backoffMs},
                  coalesce(${opts.runAt ?? null}::timestamptz, now()))
          on conflict (name, unique_key) where unique_key is not null and state in ('queued', 'running', 'failed')
          do nothing
          returning id`
        if (inserted[0]) {
          if (!opts.runAt || opts.runAt.getTime() <= Date.now()) worker.nudge()
          return { id: inserted[0].id, created: true }
        }
        const [live] = await db<{ id: string }[]>`
          select id from jobs where name = ${name} and unique_key = ${uniqueKey} and state = any(${LIVE}::text[])`
        if (live) return { id: live.id, created: false }
      }
      throw new Error(`enqueue ${name}: could not insert or find the job with unique key ${uniqueKey}`)
    },

    register(name, handler) {
      if (handlers.has(name)) throw new Error(`A handler for job "${name}" is already registered`)
      handlers.set(name, handler)
    },

    subscribeDurable: (events, job, handler, options) => durable.subscribe(events, job, handler, options),
    publishDurable: (tx, event, payload) => durable.publish(tx, event, payload),

    schedule(name, cron, payload) {
      scheduler.add(name, cron, payload)
    },

    start: () => worker.start(),
    stop: () => worker.stop(),
    runDue: () => worker.runDue(),

    async list(query) {
      const { state, queue } = query
      const where = sql`true
        ${state ? sql`and state = ${state}` : sql``}
        ${queue ? (queue.includes('.') ? sql`and name = ${queue}` : sql`and queue = ${queue}`) : sql``}`
      // Served by jobs_created_idx and the (state | queue | name, created_at desc, id desc) indexes.
      const result = await paged<JobView>(sql, { table: 'jobs', columns: sql.unsafe(COLUMNS), where }, query)
      return { ...result, skip: query.skip, limit: query.limit }
    },

    async get(id) {
      return isUuid(id) ? view(id) : undefined
    },

    async retry(id, options) {
      if (!isUuid(id)) throw notFound('Job', id)
      // On PGlite a transaction holds the only connection: inside one, use only its `tx`.
      const db = options?.tx ?? sql
      let rows: JobView[]
      try {
        rows = await db.unsafe<JobView[]>(
          `update jobs set state = 'queued', attempts = 0, run_at = now(), updated_at = now(), completed_at = null,
             locked_by = null, locked_until = null
           where id = $1 and state in ('failed', 'dead')
           returning ${COLUMNS}`,
          [id],
        )
      } catch (err) {
        if ((err as { code?: string }).code === '23505')
          throw conflict('Another live job has the same unique key', { id })
        throw err
      }
      if (rows[0]) {
        worker.nudge()
        return rows[0]
      }
      const [current] = await db.unsafe<{ state: string }[]>('select state from jobs where id = $1', [id])
      if (!current) throw notFound('Job', id)
      throw conflict(`Only failed or dead jobs can be retried; this job is ${current.state}`, {
        id,
        state: current.state,
      })
    },

    async stats() {
      const [row] = await sql<JobStats[]>`
        select
          (select count(*)::int from jobs where state = 'queued') as queued,
          (select count(*)::int from jobs where state = 'running') as running,
          (select count(*)::int from jobs where state = 'failed') as failed,
          (select count(*)::int from jobs where state = 'dead') as dead,
          (select count(*)::int from jobs where state = 'completed' and updated_at > now() - interval '24 hours') as completed_last_24h,
          (select count(*)::int from jobs where state in ('failed', 'dead') and updated_at > now() - interval '24 hours') as failed_last_24h`
      return row!
    },
  }
  return queue
}

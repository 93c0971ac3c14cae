/** The worker loop: claim due jobs with SKIP LOCKED, run handlers, record the outcome, renew leases. */
import type { Sql } from '../db/index.ts'
import type { Logger } from '../observability/index.ts'
import type { JobHandler } from './types.ts'
import type { Scheduler } from './schedule.ts'

export interface JobOutcome {
  id: string
  name: string
  attempt: number
  state: 'completed' | 'failed' | 'dead'
  /** The recorded (redacted) error of a failed attempt. */
  error?: string
  ms: number
}

export interface WorkerOptions {
  sql: Sql
  logger: Logger
  handlers: Map<string, JobHandler>
  scheduler: Scheduler
  workerId: string
  pollIntervalMs: number
  concurrency: number
  leaseMs: number
  completedRetentionMs: number
  deadRetentionMs: number
  onJobDone?: (job: JobOutcome) => void
  now: () => Date
}

interface Claimed {
  id: string
  name: string
  payload: unknown
  attempts: number
  max_attempts: number
  backoff_ms: number
}

const HOUR = 3600_000

export function createWorker(o: WorkerOptions) {
  const { sql, logger } = o
  const inFlight = new Map<string, Promise<void>>()
  const unhandledWarned = new Set<string>()
  let running = false
  let loopDone: Promise<void> | undefined
  let wake: (() => void) | undefined
  let sleepTimer: ReturnType<typeof setTimeout> | undefined
  let heartbeat: ReturnType<typeof setInterval> | undefined
  let nextReap = 0
  let nextPrune = 0
  let lastPollError = 0
  const lease = `${Math.max(1, Math.round(o.leaseMs))} milliseconds`

  /** One statement: due jobs of handled names, oldest first, rows other workers hold skipped. */
  async function claim(n: number): Promise<number> {
    const names = [...o.handlers.keys()]
    if (n <= 0 || !names.length) return 0
    const jobs = await sql<Claimed[]>`
      update jobs set state = 'running', attempts = attempts + 1, locked_by = ${o.workerId},
        locked_until = now() + ${lease}::interval, updated_at = now()
      where id in (
        select id from jobs
        where state in ('queued', 'failed') and run_at <= now() and name = any(${names}::text[])
        order by run_at
        limit ${n}
        for update skip locked)
      returning id, name, payload, attempts, max_attempts, backoff_ms`
    for (const job of jobs) {
      const done = execute(job).finally(() => {
        inFlight.delete(job.id)
        wake?.()
      })
      inFlight.set(job.id, done)
    }
    return jobs.length
  }

  async function execute(job: Claimed) {
    const started = performance.now()
    const ms = () => Math.round(performance.now() - started)
    const report = (outcome: JobOutcome) => {
      try {
        o.onJobDone?.(outcome)
      } catch (err) {
        logger.error('onJobDone threw', { error: err })
      }
    }
    const mine = sql`id = ${job.id} and state = 'running' and locked_by = ${o.workerId} and attempts = ${job.attempts}`
    try {
      const info = { id: job.id, name: job.name, attempt: job.attempts, maxAttempts: job.max_attempts }
      await o.handlers.get(job.name)!(job.payload, info)
    } catch (err) {
      const error = describeError(err)
      const delay = backoffMs(job.backoff_ms, job.attempts)
      try {
        const [row] = await sql<{ state: 'failed' | 'dead' }[]>`
          update jobs set
            state = case when attempts >= max_attempts then 'dead' else 'failed' end,
            run_at = case when attempts >= max_attempts then run_at else now() + ${`${delay} milliseconds`}::interval end,
            last_error = ${error}, updated_at = now(), locked_by = null, locked_until = null
          where ${mine}
          returning state`
        const fields = {
          job: job.name,
          id: job.id,
          attempt: job.attempts,
          max_attempts: job.max_attempts,
          error,
          stack: stackOf(err),
        }
        if (row?.state === 'dead') logger.error('job failed for the last time', fields)
        else logger.warn('job failed', { ...fields, retry_in_ms: delay })
        if (row) report({ id: job.id, name: job.name, attempt: job.attempts, state: row.state, error, ms: ms() })
        else logger.warn('job lease lost before its failure was recorded', { job: job.name, id: job.id })
      } catch (dbErr) {
        // The lease runs out and the job is retried: at-least-once.
        logger.error('could not record a job failure', { job: job.name, id: job.id, error: dbErr })
      }
      return
    }
    try {
      const done = await sql`
        update jobs set state = 'completed', completed_at = now(), updated_at = now(), locked_by = null, locked_until = null
        where ${mine}`
      if (done.count) report({ id: job.id, name: job.name, attempt: job.attempts, state: 'completed', ms: ms() })
      else logger.warn('job lease lost before its completion was recorded', { job: job.name, id: job.id })
      logger.debug('job completed', { job: job.name, id: job.id, attempt: job.attempts, ms: ms() })
    } catch (dbErr) {
      logger.error('could not record a job completion', { job: job.name, id: job.id, error: dbErr })
    }
  }

  /** Periodic, not per poll: expired leases, unhandled jobs, retention. */
  async function maintain(now: number) {
    if (now >= nextReap) {
      nextReap = now + Math.min(o.leaseMs / 2, 30_000)
      // A worker that stopped renewing its lease crashed or hung: the attempt counts as failed.
      const reaped = await sql<{ id: string; name: string; state: string }[]>`
        update jobs set
          state = case when attempts >= max_attempts then 'dead' else 'failed' end,
          run_at = now(), updated_at = now(), locked_by = null, locked_until = null,
          last_error = 'lease expired: the worker stopped before finishing (crash, restart or hang)'
        where id in (select id from jobs where state = 'running' and locked_until < now() for update skip locked)
        returning id, name, state`
      for (const r of reaped) logger.warn('job lease expired; retrying', { job: r.name, id: r.id, state: r.state })
      const waiting = await sql<{ name: string }[]>`
        select distinct name from jobs
        where state in ('queued', 'failed') and run_at <= now() and name <> all(${[...o.handlers.keys()]}::text[])
        limit 20`
      for (const { name } of waiting) {
        if (unhandledWarned.has(name)) continue
        unhandledWarned.add(name)
        logger.warn('due jobs have no registered handler; they stay queued', { job: name })
      }
    }
    if (now >= nextPrune) {
      nextPrune = now + HOUR
      const removed = await sql`
        delete from jobs where id in (
          select id from jobs where state = 'completed' and updated_at < now() - ${`${o.completedRetentionMs} milliseconds`}::interval
          union all
          select id from jobs where state = 'dead' and updated_at < now() - ${`${o.deadRetentionMs} milliseconds`}::interval)`
      if (removed.count) logger.info('old jobs removed', { count: removed.count })
    }
  }

  async function loop() {
    while (running) {
      try {
        await maintain(Date.now())
        await o.scheduler.fire(o.now())
        await claim(o.concurrency - inFlight.size)
      } catch (err) {
        // Database down: keep polling, but log once a minute rather than every poll.
        if (Date.now() - lastPollError > 60_000) logger.error('job poll failed', { error: err })
        lastPollError = Date.now()
      }
      if (!running) break
      // All slots busy: poll again as soon as one frees (a backlog drains without waiting).
      await sleep(inFlight.size >= o.concurrency ? undefined : o.pollIntervalMs)
    }
  }

  function sleep(ms: number | undefined) {
    return new Promise<void>((resolve) => {
      wake = () => {
        wake = undefined
        clearTimeout(sleepTimer)
        resolve()
      }
      if (ms !== undefined) sleepTimer = setTimeout(wake, ms)
    })
  }

  return {
    start() {
      if (running) return
      running = true
      nextReap = 0
      o.scheduler.start(o.now())
      heartbeat = setInterval(
        () => {
          if (!inFlight.size) return
          const ids = [...inFlight.keys()]
          sql`update jobs set locked_until = now() + ${lease}::interval
            where id = any(${ids}::uuid[]) and locked_by = ${o.workerId} and state = 'running'`.catch((err) =>
            logger.error('job lease renewal failed', { error: err }),
          )
        },
        Math.max(50, o.leaseMs / 3),
      )
      loopDone = loop()
    },
    async stop() {
      running = false
      wake?.()
      await loopDone
      await Promise.allSettled([...inFlight.values()])
      clearInterval(heartbeat)
    },
    /** A local enqueue wakes a sleeping loop, so the job starts without waiting a poll. */
    nudge() {
      if (running && inFlight.size < o.concurrency) wake?.()
    },
    async runDue() {
      let total = 0
      for (;;) {
        const n = await claim(Math.max(1, o.concurrency))
        total += n
        await Promise.allSettled([...inFlight.values()])
        if (!n) return total
      }
    },
  }
}

/** Exponential from `base` (base, 2x, 4x ...) with equal jitter, capped at an hour. */
export function backoffMs(base: number, attempt: number): number {
  const step = Math.min(base * 2 ** Math.max(0, attempt - 1), HOUR)
  return Math.round(step / 2 + (Math.random() * step) / 2)
}

const SECRETS: [RegExp, string][] = [
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s:@/]+:[^\s@/]+@/gi, '$1***@'], // credentials in URLs
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/g, '$1 ***'],
  [/\b(sk|rk|pk|whsec|osk)_(live_|test_)?[A-Za-z0-9]{8,}/g, '$1_***'], // API keys and webhook secrets
  [/\b(password|passwd|secret|token|api[_-]?key)(["']?\s*[=:]\s*["']?)[^\s"',;&]+/gi, '$1$2***'],
]

/** `Name: message`, secrets masked, at most 2000 characters; never the stack (logs get it). */
export function describeError(err: unknown): string {
  const text =
    err instanceof Error
      ? `${err.name}: ${err.message}`
      : typeof err === 'string'
        ? err
        : (JSON.stringify(err) ?? String(err))
  return SECRETS.reduce((s, [re, to]) => s.replace(re, to), text).slice(0, 2000)
}

function stackOf(err: unknown): string | undefined {
  // Without its first line, which repeats the unredacted message.
  return err instanceof Error ? err.stack?.split('\n').slice(1).join('\n') : undefined
}

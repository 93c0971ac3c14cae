/** Recurring jobs: cron expressions (UTC) turned into one job per tick across all replicas. */
import { CronExpressionParser } from 'cron-parser'
import type { Sql } from '../db/index.ts'
import type { Logger } from '../observability/index.ts'

interface Entry {
  name: string
  cron: string
  payload: unknown
  /** The first tick this process has not fired yet; computed on start. */
  next?: Date
}

export interface Scheduler {
  /** Validates the expression at once (a typo fails at boot, not at 3 a.m.). */
  add(name: string, cron: string, payload?: unknown): void
  /** Only ticks after this moment fire: a restart does not replay the tick it missed. */
  start(now: Date): void
  /** Enqueue the latest due tick of every schedule; one insert per tick, none when idle. */
  fire(now: Date): Promise<void>
  readonly size: number
}

/**
 * Five fields (minute precision) or six (seconds first), as cron-parser reads them, in UTC.
 * @example parseCron('17 * * * *') // minute 17 of every hour
 */
export function parseCron(cron: string) {
  try {
    return CronExpressionParser.parse(cron, { tz: 'UTC' })
  } catch (err) {
    throw new Error(`Invalid cron expression "${cron}": ${(err as Error).message}`)
  }
}

/** The first tick strictly after `date`. */
export function nextTick(cron: string, date: Date): Date {
  return CronExpressionParser.parse(cron, { currentDate: date, tz: 'UTC' }).next().toDate()
}

/** The latest tick at or before `date`. */
export function latestTick(cron: string, date: Date): Date {
  return CronExpressionParser.parse(cron, { currentDate: new Date(date.getTime() + 1), tz: 'UTC' })
    .prev()
    .toDate()
}

export function createScheduler(sql: Sql, logger: Logger): Scheduler {
  const entries: Entry[] = []
  let started = false

  return {
    get size() {
      return entries.length
    },
    add(name, cron, payload) {
      parseCron(cron)
      // Added after start (a late plugin): it fires from its next tick like the others.
      entries.push({ name, cron, payload, next: started ? nextTick(cron, new Date()) : undefined })
    },
    start(now) {
      started = true
      for (const e of entries) e.next = nextTick(e.cron, now)
    },
    async fire(now) {
      for (const e of entries) {
        if (!e.next || now < e.next) continue
        // After a stall (a blocked event loop, a long GC) only the latest tick fires.
        const tick = latestTick(e.cron, now)
        // The unique (name, schedule_tick) index lets exactly one replica create the tick's job.
        const rows = await sql`
          insert into jobs (name, payload, schedule_tick, run_at)
          values (${e.name}, ${toJson(sql, e.payload)}::jsonb, ${tick}, ${tick})
          on conflict (name, schedule_tick) where schedule_tick is not null do nothing
          returning id`
        // Advanced only once the insert went through: a failed insert is retried next poll.
        e.next = nextTick(e.cron, now)
        if (rows.length)
          logger.debug('scheduled job enqueued', { job: e.name, tick: tick.toISOString(), id: rows[0]!.id })
      }
    },
  }
}

/** A jsonb parameter (typed, so a string payload is not encoded twice); undefined and null are SQL null. */
export function toJson(sql: Sql, value: unknown) {
  return value === undefined || value === null ? null : sql.json(value as Parameters<Sql['json']>[0])
}

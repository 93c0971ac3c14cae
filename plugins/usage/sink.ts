/**
 * The usage plugin's MeterSink: buffers in memory (buffer.ts) and writes one statement per
 * flush interval per replica; flush() (shutdown, tests) writes whatever is left. A failed
 * write puts the batch back and is retried at the next tick.
 */
import type { Logger, MeterEvent, MeterSink, Sql } from '../../core/index.ts'
import { createMeterBuffer, type UsageBatch } from './buffer.ts'

export interface UsageSink extends MeterSink {
  /** Events waiting for the next flush. */
  readonly pending: number
  /** Starts the interval timer. */
  start(): void
  /** Stops the timer (flush() still writes what is left). */
  stop(): void
}

export interface UsageSinkOptions {
  write(batch: UsageBatch): Promise<void>
  intervalMs: number
  /** Buffered events beyond which a flush starts before its tick (backpressure). */
  maxBuffered: number
  logger: Logger
}

const FINAL_ATTEMPTS = 3
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

export function createUsageSink(o: UsageSinkOptions): UsageSink {
  const buffer = createMeterBuffer()
  let timer: ReturnType<typeof setInterval> | undefined
  let running: Promise<boolean> | undefined
  let warned = false

  /** One write of everything buffered; false when it failed (the batch is back in the buffer). */
  const writeOnce = async (): Promise<boolean> => {
    if (buffer.size === 0) return true
    const batch = buffer.drain()
    try {
      await o.write(batch)
      return true
    } catch (err) {
      buffer.restore(batch)
      o.logger.error('usage flush failed; retrying at the next tick', { events: batch.events, error: err })
      return false
    }
  }

  /** Serialised: a write never overlaps another. */
  const run = (): Promise<boolean> => {
    const next = (running ?? Promise.resolve(true)).then(writeOnce)
    running = next
    void next.finally(() => {
      if (running === next) running = undefined
    })
    return next
  }

  const tick = () => {
    if (!running) void run()
  }

  return {
    record(event: MeterEvent) {
      buffer.record(event)
      if (buffer.size >= o.maxBuffered && !running) {
        if (!warned)
          o.logger.warn('usage buffer full before its flush interval: flushing early', { events: buffer.size })
        warned = true
        void run()
      }
    },
    async flush() {
      for (let attempt = 1; attempt <= FINAL_ATTEMPTS; attempt++) {
        if (running) await running
        if (await run()) {
          if (buffer.size === 0) return
        } else if (attempt < FINAL_ATTEMPTS) await new Promise((r) => setTimeout(r, 200 * attempt))
      }
      if (buffer.size > 0) o.logger.error('usage events could not be written', { events: buffer.size })
    },
    get pending() {
      return buffer.size
    },
    start() {
      timer ??= setInterval(tick, o.intervalMs)
      ;(timer as { unref?: () => void }).unref?.()
    },
    stop() {
      if (timer) clearInterval(timer)
      timer = undefined
    },
  }
}

/**
 * One statement per batch: event ids enter the dedupe ledger (`on conflict do nothing`), and
 * only the summed rows and the events whose id was new are added to the daily roll-up. Rows are
 * sorted so two replicas updating the same roll-ups lock them in the same order.
 */
export function sqlWriter(sql: Sql) {
  return async (batch: UsageBatch) => {
    if (!batch.rows.length) return
    const rows = batch.rows.sort((a, b) => cmp(a.u, b.u) || cmp(a.m, b.m) || cmp(a.d, b.d) || cmp(a.k, b.k))
    await sql`
      with ev as (
        select * from jsonb_to_recordset(${sql.json(rows as never)}) as e(i text, u text, m text, k text, d date, v float8)
      ), fresh as (
        insert into usage_events (id) select i from ev where i is not null
        on conflict do nothing
        returning id
      ), agg as (
        select u, m, k, d, sum(v) as v from ev
        where i is null or i in (select id from fresh)
        group by u, m, k, d
      )
      insert into usage_daily (user_id, metric, dim_key, dimensions, day, value)
      select agg.u, agg.m, agg.k, agg.k::jsonb, agg.d, agg.v from agg order by agg.u, agg.m, agg.d, agg.k
      on conflict (user_id, metric, day, dim_key) do update
        set value = usage_daily.value + excluded.value, updated_at = now()`
  }
}

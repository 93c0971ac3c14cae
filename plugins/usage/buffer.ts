/**
 * The in-memory side of metering: events are summed per (user, metric, UTC day, dimensions)
 * as they arrive, so a request costs a map update and never a database write. Events with an
 * idempotency id are kept apart (first one wins) for the database to deduplicate at flush.
 */
import type { MeterEvent } from '../../core/index.ts'
import { DAY_MS } from './periods.ts'

/** One row of a flush: a sum, or a single event carrying an idempotency id. */
export interface UsageRow {
  /** Idempotency id; absent for summed rows. */
  i?: string
  /** user id */
  u: string
  /** metric */
  m: string
  /** canonical dimensions (JSON with sorted keys) */
  k: string
  /** UTC day, 'YYYY-MM-DD' */
  d: string
  /** value */
  v: number
}

export interface UsageBatch {
  rows: UsageRow[]
  /** Events this batch stands for (summed rows count every event they hold). */
  events: number
}

const MAX_DIMENSIONS = 8
const MAX_TEXT = 128
const EMPTY = '{}'
const SEP = '\u001f'

/** NUL and lone surrogates: PostgreSQL's jsonb refuses them, and one such row would fail every write. */
const UNSAFE = /[\u0000\ud800-\udfff]/
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g

const clean = (s: string) => {
  const bounded = s.length > MAX_TEXT ? s.slice(0, MAX_TEXT) : s
  return UNSAFE.test(bounded) ? bounded.replace(/\u0000/g, '').replace(LONE_SURROGATE, '\ufffd') : bounded
}

/** How many single-dimension sets ({version: 'v1'} on every request) a buffer keeps the canonical JSON of. */
const SINGLES_MAX = 1024

/**
 * Dimensions as canonical JSON: sorted keys, string values, bounded in count and length.
 * `singles` (the buffer's own) remembers the JSON of single-dimension sets seen lately.
 */
export function canonicalDimensions(d: Record<string, string> | undefined, singles?: Map<string, string>): string {
  if (!d) return EMPTY
  const keys = Object.keys(d)
  if (keys.length === 0) return EMPTY
  if (keys.length === 1) {
    const k = keys[0]!
    const v = d[k]
    if (typeof v === 'string') {
      const memo = k + SEP + v
      const hit = singles?.get(memo)
      if (hit !== undefined) return hit
      if (k.length <= MAX_TEXT && v.length <= MAX_TEXT && !UNSAFE.test(k) && !UNSAFE.test(v)) {
        const canonical = JSON.stringify(d)
        if (singles) {
          if (singles.size >= SINGLES_MAX) singles.clear()
          singles.set(memo, canonical)
        }
        return canonical
      }
    }
  }
  const out: Record<string, string> = {}
  for (const k of keys.sort().slice(0, MAX_DIMENSIONS)) {
    const v = d[k]
    if (v === undefined || v === null) continue
    out[clean(k)] = clean(String(v))
  }
  return JSON.stringify(out)
}

export interface MeterBuffer {
  record(event: MeterEvent): void
  /** Events held (summed rows count once per event). */
  readonly size: number
  /** Takes everything buffered. */
  drain(): UsageBatch
  /** Puts a batch back (its write failed): sums add up again, ids already held win. */
  restore(batch: UsageBatch): void
}

export function createMeterBuffer(): MeterBuffer {
  const singles = new Map<string, string>()
  let sums = new Map<string, UsageRow>()
  let ided = new Map<string, UsageRow>()
  let size = 0
  // The UTC day of the last event: almost every event falls on the same day as the one before.
  let dayStart = 0
  let dayEnd = 0
  let dayText = ''

  const dayOf = (ms: number) => {
    if (ms >= dayStart && ms < dayEnd) return dayText
    dayStart = ms - (((ms % DAY_MS) + DAY_MS) % DAY_MS)
    dayEnd = dayStart + DAY_MS
    dayText = new Date(dayStart).toISOString().slice(0, 10)
    return dayText
  }

  const add = (row: UsageRow, events: number) => {
    if (row.i !== undefined) {
      if (ided.has(row.i)) return
      ided.set(row.i, row)
      size += events
      return
    }
    const key = row.u + SEP + row.m + SEP + row.d + SEP + row.k
    const held = sums.get(key)
    if (held) held.v += row.v
    else sums.set(key, { ...row })
    size += events
  }

  return {
    record(e) {
      if (typeof e.value !== 'number' || !Number.isFinite(e.value) || !e.userId || !e.metric) return
      const k = canonicalDimensions(e.dimensions, singles)
      const d = dayOf(e.at.getTime())
      if (e.id !== undefined && e.id !== '') {
        add({ i: clean(String(e.id).slice(0, 255)), u: e.userId, m: clean(e.metric.slice(0, 64)), k, d, v: e.value }, 1)
        return
      }
      // The hot path (every request): one key string and a map update; a row only for a new key.
      const key = e.userId + SEP + e.metric + SEP + d + SEP + k
      const held = sums.get(key)
      if (held) held.v += e.value
      else sums.set(key, { u: e.userId, m: clean(e.metric.slice(0, 64)), k, d, v: e.value })
      size++
    },
    get size() {
      return size
    },
    drain() {
      const batch = { rows: [...sums.values(), ...ided.values()], events: size }
      sums = new Map()
      ided = new Map()
      size = 0
      return batch
    },
    restore(batch) {
      for (const r of batch.rows) add(r, 0)
      size += batch.events
    },
  }
}

/** In-process fixed-window counters: bounded in size, expired windows swept as hits arrive. */
import { peekResult, windowResult } from './rate.ts'
import type { RateLimitStore, RateResult, RateRule } from './types.ts'

export interface MemoryStoreOptions {
  /** Clock in ms (tests inject one). @default Date.now */
  now?: () => number
  /** Most live windows kept; past it the oldest window is dropped (that key starts afresh). @default 100000 */
  maxKeys?: number
}

/** The memory store answers synchronously; `size` is the number of windows held. */
export interface MemoryStore extends RateLimitStore {
  hit(key: string, rule: RateRule): RateResult
  peek(key: string, rule: RateRule): RateResult
  readonly size: number
}

interface Window {
  count: number
  endsAt: number
}

/** Expired entries removed per sweep (at most one a millisecond) and per queue: up to 64,000 a second, still O(1) per hit. */
const SWEEP = 64

/**
 * One Map per window length. A window is (re)inserted when it opens, so within one Map
 * insertion order is expiry order and the expired ones are always at the head: each hit
 * pops a few of them, with no timer per key and no full scan.
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const now = options.now ?? Date.now
  const maxKeys = Math.max(1, options.maxKeys ?? 100_000)
  const queues = new Map<number, Map<string, Window>>()
  let size = 0

  const queueOf = (windowMs: number) => {
    let q = queues.get(windowMs)
    if (!q) queues.set(windowMs, (q = new Map()))
    return q
  }

  let lastSweep = -Infinity
  const sweep = (t: number) => {
    // Once per millisecond is enough (a hit allocates nothing otherwise); expired windows
    // beyond the sweep's share wait for the next tick, and maxKeys bounds them meanwhile.
    if (t === lastSweep) return
    lastSweep = t
    for (const q of queues.values()) {
      let n = 0
      for (const [key, w] of q) {
        if (w.endsAt > t || n++ >= SWEEP) break
        q.delete(key)
        size--
      }
    }
  }

  // Full: drop the window that ends first (fail open for that one key rather than grow).
  const evictOne = () => {
    let victim: Map<string, Window> | undefined
    let victimKey = ''
    let soonest = Infinity
    for (const q of queues.values()) {
      const head = q.entries().next()
      if (!head.done && head.value[1].endsAt < soonest) {
        soonest = head.value[1].endsAt
        victim = q
        victimKey = head.value[0]
      }
    }
    if (victim) {
      victim.delete(victimKey)
      size--
    }
  }

  const live = (key: string, rule: RateRule, t: number) => {
    const w = queues.get(rule.windowMs)?.get(key)
    return w && w.endsAt > t ? w : undefined
  }

  return {
    get size() {
      return size
    },
    hit(key: string, rule: RateRule): RateResult {
      const t = now()
      sweep(t)
      const q = queueOf(rule.windowMs)
      let w = q.get(key)
      if (w && w.endsAt > t) {
        w.count++
      } else {
        if (w) {
          q.delete(key) // re-inserted below, at the tail where its new expiry belongs
          size--
        }
        if (size >= maxKeys) evictOne()
        w = { count: 1, endsAt: t + rule.windowMs }
        q.set(key, w)
        size++
      }
      return windowResult(rule, w.count, w.endsAt, t)
    },
    peek(key: string, rule: RateRule): RateResult {
      const t = now()
      const w = live(key, rule, t)
      return peekResult(rule, w?.count ?? 0, w?.endsAt ?? t + rule.windowMs, t)
    },
    async close() {
      queues.clear()
      size = 0
    },
  }
}

import { describe, expect, it } from 'bun:test'
import { parseRate } from './rate.ts'
import { createMemoryStore } from './store-memory.ts'

const clock = (start = 1_700_000_000_000) => {
  let t = start
  return { now: () => t, advance: (ms: number) => void (t += ms) }
}

describe('memory rate-limit store', () => {
  it('answers synchronously and trips at limit+1 with Retry-After', () => {
    const c = clock()
    const store = createMemoryStore({ now: c.now })
    const rule = parseRate('3/minute')
    const results = [1, 2, 3].map(() => store.hit('k', rule))
    expect(results.map((r) => [r.allowed, r.remaining, r.retryAfter])).toEqual([
      [true, 2, 0],
      [true, 1, 0],
      [true, 0, 0],
    ])
    expect(results[0]!.reset).toBe(Math.ceil((c.now() + 60_000) / 1000))
    c.advance(20_000)
    const refused = store.hit('k', rule)
    expect(refused).toEqual({ allowed: false, limit: 3, remaining: 0, reset: results[0]!.reset, retryAfter: 40 })
    // Other keys have their own budget.
    expect(store.hit('other', rule).allowed).toBe(true)
  })

  it('opens a fresh window once the old one has passed', () => {
    const c = clock()
    const store = createMemoryStore({ now: c.now })
    const rule = parseRate('2/second')
    store.hit('k', rule)
    store.hit('k', rule)
    c.advance(999)
    const last = store.hit('k', rule)
    expect(last.allowed).toBe(false)
    expect(last.retryAfter).toBe(1)
    c.advance(1)
    const fresh = store.hit('k', rule)
    expect(fresh.allowed).toBe(true)
    expect(fresh.remaining).toBe(1)
  })

  it('peeks without counting', () => {
    const c = clock()
    const store = createMemoryStore({ now: c.now })
    const rule = parseRate('2/minute')
    expect(store.peek('k', rule)).toMatchObject({ allowed: true, remaining: 2, retryAfter: 0 })
    store.hit('k', rule)
    expect(store.peek('k', rule)).toMatchObject({ allowed: true, remaining: 1 })
    expect(store.peek('k', rule)).toMatchObject({ allowed: true, remaining: 1 })
    store.hit('k', rule)
    expect(store.peek('k', rule)).toMatchObject({ allowed: false, remaining: 0, retryAfter: 60 })
  })

  it('sweeps expired windows as hits arrive, without timers', () => {
    const c = clock()
    const store = createMemoryStore({ now: c.now })
    const minute = parseRate('5/minute')
    const second = parseRate('5/second')
    for (let i = 0; i < 20; i++) store.hit(`m${i}`, minute)
    for (let i = 0; i < 20; i++) store.hit(`s${i}`, second)
    expect(store.size).toBe(40)
    c.advance(61_000)
    // Each hit pops a few expired windows per window length; a handful of hits empties them.
    for (let i = 0; i < 10; i++) store.hit('fresh', second)
    expect(store.size).toBe(1)
  })

  it('stays within maxKeys by dropping the window that ends first', () => {
    const c = clock()
    const store = createMemoryStore({ now: c.now, maxKeys: 100 })
    const rule = parseRate('1/hour')
    for (let i = 0; i < 1000; i++) {
      store.hit(`ip-${i}`, rule)
      c.advance(1)
    }
    expect(store.size).toBe(100)
    // The newest keys are still counted; the oldest were dropped.
    expect(store.hit('ip-999', rule).allowed).toBe(false)
    expect(store.peek('ip-0', rule).remaining).toBe(1)
  })
})

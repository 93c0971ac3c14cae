import { describe, expect, it } from 'bun:test'
import { silentLogger } from '../../../core/observability/index.ts'
import { canonicalDimensions, type UsageBatch } from '../buffer.ts'
import { createUsageSink } from '../sink.ts'

const event = (
  userId: string,
  value = 1,
  extra: { id?: string; at?: Date; dimensions?: Record<string, string> } = {},
) => ({
  userId,
  metric: 'api_requests',
  value,
  dimensions: extra.dimensions ?? { version: 'v1' },
  id: extra.id,
  at: extra.at ?? new Date('2026-01-10T10:00:00Z'),
})

describe('usage sink', () => {
  it('writes at most once per interval, however many events arrive', async () => {
    const writes: UsageBatch[] = []
    const sink = createUsageSink({
      write: async (b) => void writes.push(b),
      intervalMs: 100,
      maxBuffered: 1_000_000,
      logger: silentLogger,
    })
    sink.start()
    const started = Date.now()
    while (Date.now() - started < 550) {
      for (let i = 0; i < 200; i++) sink.record(event(`u${i % 7}`))
      await new Promise((r) => setTimeout(r, 5))
    }
    sink.stop()
    await sink.flush()
    // ~5 ticks in 550 ms plus the final flush.
    expect(writes.length).toBeGreaterThanOrEqual(3)
    expect(writes.length).toBeLessThanOrEqual(7)
    const total = writes.reduce((s, b) => s + b.rows.reduce((x, r) => x + r.v, 0), 0)
    expect(total).toBe(writes.reduce((s, b) => s + b.events, 0))
    // Summed per user: 7 rows per write at most.
    for (const b of writes) expect(b.rows.length).toBeLessThanOrEqual(7)
  })

  it('keeps events apart by UTC day and dimensions, and ids apart (first wins)', async () => {
    const writes: UsageBatch[] = []
    const sink = createUsageSink({
      write: async (b) => void writes.push(b),
      intervalMs: 60_000,
      maxBuffered: 1_000_000,
      logger: silentLogger,
    })
    sink.record(event('a', 1, { at: new Date('2026-01-10T23:59:59.999Z') }))
    sink.record(event('a', 1, { at: new Date('2026-01-11T00:00:00Z') }))
    sink.record(event('a', 2, { dimensions: { version: 'v2' } }))
    sink.record(event('a', 5, { id: 'x' }))
    sink.record(event('a', 7, { id: 'x' }))
    await sink.flush()
    const rows = writes[0]!.rows.map((r) => [r.d, r.k, r.v, r.i ?? null])
    expect(rows).toEqual([
      ['2026-01-10', '{"version":"v1"}', 1, null],
      ['2026-01-11', '{"version":"v1"}', 1, null],
      ['2026-01-10', '{"version":"v2"}', 2, null],
      ['2026-01-10', '{"version":"v1"}', 5, 'x'],
    ])
  })

  it('flushes early when the buffer is full', async () => {
    const writes: UsageBatch[] = []
    const sink = createUsageSink({
      write: async (b) => void writes.push(b),
      intervalMs: 60_000,
      maxBuffered: 100,
      logger: silentLogger,
    })
    for (let i = 0; i < 100; i++) sink.record(event('a', 1, { id: `e${i}` }))
    await new Promise((r) => setTimeout(r, 10))
    expect(writes).toHaveLength(1)
    expect(sink.pending).toBe(0)
  })

  it('retries a failed write and loses nothing', async () => {
    let fail = true
    const writes: UsageBatch[] = []
    const sink = createUsageSink({
      write: async (b) => {
        if (fail) throw new Error('database down')
        writes.push(b)
      },
      intervalMs: 60_000,
      maxBuffered: 1_000_000,
      logger: silentLogger,
    })
    sink.record(event('a', 3))
    sink.record(event('a', 1, { id: 'once' }))
    await sink.flush()
    expect(sink.pending).toBe(2)
    sink.record(event('a', 4))
    sink.record(event('a', 9, { id: 'once' }))
    fail = false
    await sink.flush()
    expect(writes[0]!.rows.map((r) => r.v)).toEqual([7, 1])
  })

  it('canonicalises dimensions: sorted keys, strings, bounded', () => {
    expect(canonicalDimensions({})).toBe('{}')
    expect(canonicalDimensions({ model: 'gpt-4o' })).toBe('{"model":"gpt-4o"}')
    expect(canonicalDimensions({ b: '2', a: '1' })).toBe(canonicalDimensions({ a: '1', b: '2' }))
    expect(canonicalDimensions({ a: 'x'.repeat(500) })).toBe(`{"a":"${'x'.repeat(128)}"}`)
  })
})

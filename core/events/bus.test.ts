import { describe, expect, it } from 'bun:test'
import { createLogger, silentLogger, type Logger } from '../observability/index.ts'
import { createEventBus } from './bus.ts'
import type { EventMeta } from './types.ts'

declare module './types.ts' {
  interface EventMap {
    'test.happened': { n: number; at?: Date | string }
  }
}

const tick = () => new Promise((r) => setTimeout(r, 5))

function capture(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = []
  return { lines, logger: createLogger({ level: 'debug', write: (l) => lines.push(JSON.parse(l)) }) }
}

describe('event bus (in-process)', () => {
  it('delivers to every subscriber of the name, after the publisher has moved on', async () => {
    const bus = createEventBus({ logger: silentLogger, instanceId: 'replica-a' })
    const seen: [string, number, EventMeta][] = []
    bus.subscribe('test.happened', (p, meta) => void seen.push(['first', p.n, meta]))
    bus.subscribe('test.happened', (p, meta) => void seen.push(['second', p.n, meta]))
    bus.subscribe('other.thing', () => void seen.push(['other', 0, {} as EventMeta]))
    const done = bus.publish('test.happened', { n: 1 })
    expect(seen).toHaveLength(0)
    await done
    await tick()
    expect(seen.map(([who, n]) => [who, n])).toEqual([
      ['first', 1],
      ['second', 1],
    ])
    const meta = seen[0]![2]
    expect(meta.name).toBe('test.happened')
    expect(meta.origin).toBe('replica-a')
    expect(meta.id).toMatch(/^[0-9a-f-]{36}$/)
    expect(seen[1]![2].id).toBe(meta.id)
    await bus.close()
  })

  it('isolates a throwing or rejecting handler: logged, the others still run', async () => {
    const { logger, lines } = capture()
    const bus = createEventBus({ logger })
    const ok: number[] = []
    bus.subscribe('test.happened', () => {
      throw new Error('sync boom')
    })
    bus.subscribe('test.happened', async () => {
      throw new Error('async boom')
    })
    bus.subscribe('test.happened', (p) => void ok.push(p.n))
    await bus.publish('test.happened', { n: 7 })
    await tick()
    expect(ok).toEqual([7])
    const errors = lines.filter((l) => l.level === 'ERROR')
    expect(errors).toHaveLength(2)
    expect(errors.map((e) => (e.err as { message: string }).message).sort()).toEqual(['async boom', 'sync boom'])
    expect(errors[0]!.event).toBe('test.happened')
    await bus.close()
  })

  it('stops delivering after unsubscribe', async () => {
    const bus = createEventBus({ logger: silentLogger })
    const seen: number[] = []
    const off = bus.subscribe('test.happened', (p) => void seen.push(p.n))
    await bus.publish('test.happened', { n: 1 })
    await tick()
    off()
    await bus.publish('test.happened', { n: 2 })
    await tick()
    expect(seen).toEqual([1])
    await bus.close()
  })

  it('hands broadcast payloads over as JSON copies, as other replicas would see them', async () => {
    const bus = createEventBus({ logger: silentLogger })
    const at = new Date('2026-01-02T03:04:05.000Z')
    let got: unknown
    bus.subscribe('test.happened', (p) => void (got = p))
    const payload = { n: 3, at }
    await bus.publish('test.happened', payload, { broadcast: true })
    await tick()
    expect(got).toEqual({ n: 3, at: '2026-01-02T03:04:05.000Z' })
    expect(got).not.toBe(payload)
    await expect(bus.publish('x.cyclic', { n: 1n }, { broadcast: true })).rejects.toThrow()
    await bus.close()
  })

  it('ignores publishes after close', async () => {
    const bus = createEventBus({ logger: silentLogger })
    let calls = 0
    bus.subscribe('test.happened', () => void calls++)
    await bus.close()
    await bus.publish('test.happened', { n: 1 })
    await tick()
    expect(calls).toBe(0)
  })
})

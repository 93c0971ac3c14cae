/** The pipeline's `rejected` status: a malformed event is stored once, answered 400, never applied, retried or replayed. */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { AppError } from '../errors/index.ts'
import type { JobQueue } from '../jobs/index.ts'
import { createLogger } from '../observability/index.ts'
import { createTestDatabase, type TestDatabase } from '../testing/database.ts'
import { createInboundPipeline, type InboundPipeline } from './index.ts'

let db: TestDatabase
let inbound: InboundPipeline
let applied = 0
const enqueued: unknown[] = []

beforeAll(async () => {
  db = await createTestDatabase()
  const jobs = { enqueue: async (...args: unknown[]) => void enqueued.push(args) } as unknown as JobQueue
  inbound = createInboundPipeline({ sql: db.sql, jobs, logger: createLogger({ level: 'error', write: () => {} }) })
  inbound.register('acme', async () => {
    applied++
    return { status: 'applied' }
  })
})
afterAll(() => db?.close())

const rows = async (eventId: string) => [
  ...(await db.sql`select status, attempts, error, type from inbound_events where provider = 'acme' and event_id = ${eventId}`),
]

describe('rejected inbound events', () => {
  it('a malformed event is 400 with provider and field, stored once as rejected, never applied', async () => {
    const event = {
      provider: 'acme',
      eventId: 'evt_bad',
      type: 'thing.updated',
      payload: { data: { object: null } },
      malformed: { field: 'data.object', message: 'must be an object' },
    }
    const first = await inbound.receive(event).catch((e: unknown) => e)
    expect(first).toBeInstanceOf(AppError)
    expect(first).toMatchObject({
      status: 400,
      errorCode: 'BAD_REQUEST',
      details: { provider: 'acme', field: 'data.object' },
    })
    expect(await rows('evt_bad')).toEqual([
      { status: 'rejected', attempts: 1, error: 'data.object: must be an object', type: 'thing.updated' },
    ])
    // Delivered again: 400 again, the same row.
    await expect(inbound.receive(event)).rejects.toMatchObject({ status: 400 })
    expect(await rows('evt_bad')).toEqual([
      { status: 'rejected', attempts: 2, error: 'data.object: must be an object', type: 'thing.updated' },
    ])
    expect(applied).toBe(0)
    expect(enqueued).toEqual([])
  })

  it('keeps a JSON null payload (the column is not null) and lists, counts and refuses to replay rejected events', async () => {
    await inbound.reject(
      { provider: 'acme', eventId: 'sha256:00', type: 'unknown', payload: null },
      'body: must be an object',
    )
    expect((await db.sql`select payload from inbound_events where event_id = 'sha256:00'`)[0]!.payload).toEqual({
      value: null,
    })
    const list = await inbound.list({ status: 'rejected', skip: 0, limit: 10 })
    expect(list.items.map((e) => e.event_id).sort()).toEqual(['evt_bad', 'sha256:00'])
    expect(await inbound.stats()).toEqual({ total: 2, failed: 0, pending: 0 })
    await expect(inbound.retry(list.items[0]!.id)).rejects.toMatchObject({ status: 409 })
    expect(applied).toBe(0)
  })

  it('does not turn an applied event into a rejected one', async () => {
    expect(
      (await inbound.receive({ provider: 'acme', eventId: 'evt_ok', type: 'thing.updated', payload: {} })).status,
    ).toBe('applied')
    await expect(
      inbound.receive({
        provider: 'acme',
        eventId: 'evt_ok',
        type: 'thing.updated',
        payload: {},
        malformed: { field: 'id', message: 'must be a string' },
      }),
    ).rejects.toMatchObject({ status: 400 })
    expect(await rows('evt_ok')).toEqual([{ status: 'applied', attempts: 1, error: null, type: 'thing.updated' }])
  })
})

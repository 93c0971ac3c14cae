/**
 * GET /tickets/events (docs/plugins/tickets.md#live-events-sse): events arrive, carry ids and
 * resume with Last-Event-ID; heartbeats; who sees what (a requester their own tickets' public
 * events, staff internal notes, admins queue changes); `?token=` here and nowhere else; a listener
 * that stops reading is dropped; a second app on the same database gets the events too (through
 * its heartbeat read when there is no Redis: tests/sse.redis.test.ts covers Redis).
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createApp, type App } from '../../../core/index.ts'
import { scopedKeys, TEST_JWT_SECRET, testApp, type TestApp } from '../../../core/testing/index.ts'
import { createFilesPlugin } from '../../files/index.ts'
import users from '../../users/index.ts'
import { createTicketsPlugin } from '../index.ts'
import { SseReader, type SseFrame } from './sse-client.ts'
import { base } from './support.ts'

const HEARTBEAT_MS = 150
const plugins = (opts: { sseMaxBufferBytes?: number } = {}) => [
  users,
  createFilesPlugin(),
  createTicketsPlugin(opts),
  scopedKeys,
]

let t: TestApp
let dataDir: string
const role = (id: string, r: 'user' | 'agent' | 'admin') =>
  t.app.db.sql`insert into users (id, email, full_name, role) values (${id}, ${`${id}@example.com`}, ${id}, ${r})
    on conflict (id) do update set role = excluded.role`

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'omnistack-sse-'))
  t = await testApp({
    plugins: plugins(),
    env: { DATA_DIR: dataDir, RATE_LIMIT_DEFAULT: '100000/minute', TICKETS_SSE_HEARTBEAT_MS: String(HEARTBEAT_MS) },
  })
  await role('agent1', 'agent')
  await role('admin1', 'admin')
  for (const u of ['alice', 'bob']) await role(u, 'user')
})
afterAll(async () => {
  await t?.close()
  rmSync(dataDir, { recursive: true, force: true })
})

const open: SseReader[] = []
afterAll(() => {
  for (const r of open) r.close()
})

/** Opens the stream as `user` (bearer header unless `query`), and waits for its first bytes. */
async function listen(
  user: string,
  init: { version?: string; lastEventId?: string; query?: boolean; app?: App } = {},
): Promise<SseReader> {
  const token = await t.token(user)
  const headers: Record<string, string> = {}
  if (!init.query) headers.authorization = `Bearer ${token}`
  if (init.lastEventId !== undefined) headers['last-event-id'] = init.lastEventId
  const q = init.query ? `?token=${encodeURIComponent(token)}` : ''
  const res = await (init.app ?? t.app).handle(
    new Request(`http://localhost/api/${init.version ?? 'v1'}/app/tickets/events${q}`, { headers }),
  )
  expect(res.status).toBe(200)
  const reader = new SseReader(res)
  open.push(reader)
  await reader.next((f) => f.comment === 'ok')
  return reader
}

const newTicket = async (user: string, title = 'Printer on fire') => {
  const res = await t.as(user).post(base, { title, description: 'Smoke everywhere' })
  expect(res.status).toBe(201)
  return res.body as { id: string; number: number; requester_id: string }
}
const isTicket = (kind: string, id: string) => (f: SseFrame) => f.event === kind && f.data?.ticket?.id === id

describe('live events', () => {
  it('answers text/event-stream, unbuffered, with an id on every event, within a second of the change', async () => {
    const res = await t.app.handle(
      new Request('http://localhost/api/v1/app/tickets/events', {
        headers: { authorization: `Bearer ${await t.token('alice')}` },
      }),
    )
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    expect(res.headers.get('x-accel-buffering')).toBe('no')
    expect(res.headers.get('cache-control')).toContain('no-cache')
    expect(res.headers.get('x-request-id')).toBeTruthy()
    const alice = new SseReader(res)
    open.push(alice)
    await alice.next((f) => f.comment === 'ok')
    const tk = await newTicket('alice')
    const e = await alice.next(isTicket('ticket_created', tk.id), 1000)
    expect(e.id).toMatch(/^\d+$/)
    expect(e.data.ticket).toMatchObject({ id: tk.id, number: tk.number, requester_id: 'alice', status: 'open' })
    await t.as('agent1').patch(`${base}/${tk.id}`, { priority: 'high' })
    const u = await alice.next(isTicket('ticket_updated', tk.id), 1000)
    expect(BigInt(u.id!)).toBeGreaterThan(BigInt(e.id!))
    expect(u.data).toMatchObject({ ticket: { priority: 'high' }, changed: expect.arrayContaining(['priority']) })
  })

  it('is never enveloped in v2', async () => {
    const alice = await listen('alice', { version: 'v2' })
    const tk = await newTicket('alice')
    const e = await alice.next(isTicket('ticket_created', tk.id), 1000)
    expect(e.data.data).toBeUndefined()
    expect(Object.keys(e.data)).toEqual(['ticket'])
  })

  it('sends a :hb comment on the configured interval', async () => {
    const alice = await listen('alice')
    await alice.next((f) => f.comment === 'hb', HEARTBEAT_MS * 20)
    await alice.next((f) => f.comment === 'hb', HEARTBEAT_MS * 20)
  })
})

describe('who sees what', () => {
  it("a requester gets only their own tickets' public events; staff get internal notes; admins queue changes", async () => {
    const alice = await listen('alice')
    const bob = await listen('bob')
    const agent = await listen('agent1')
    const admin = await listen('admin1')

    const secret = await newTicket('alice', 'Alice private')
    await t
      .as('agent1')
      .post(`${base}/${secret.id}/comments`, { body_md: 'INTERNAL: check her VPN', is_internal: true })
    await t.as('agent1').post(`${base}/${secret.id}/comments`, { body_md: 'Public reply' })
    const queue = (await t.as('admin1').post(`${base}/queues`, { name: `Q-${crypto.randomUUID()}` })).body
    await t.as('admin1').delete(`${base}/${secret.id}`)
    // A last change each listener may see: everything before it (ids are ordered) has been offered.
    const marker = await newTicket('bob', 'Bob marker')
    await t.as('agent1').post(`${base}/${marker.id}/comments`, { body_md: 'for bob' })

    const last = (f: SseFrame) => f.event === 'comment_added' && f.data.ticket.id === marker.id
    const aliceSaw = await alice.eventsUntil((f) => f.event === 'ticket_deleted' && f.data.ticket.id === secret.id)
    expect(aliceSaw.map((f) => f.event)).toEqual([
      'ticket_created',
      'comment_added',
      'ticket_updated',
      'ticket_deleted',
    ])
    expect(aliceSaw.every((f) => f.data.ticket.id === secret.id)).toBe(true)
    expect(aliceSaw.find((f) => f.event === 'comment_added')!.data.comment).toMatchObject({
      body_md: 'Public reply',
      is_internal: false,
    })
    expect(JSON.stringify(aliceSaw)).not.toContain('INTERNAL')
    expect(aliceSaw.find((f) => f.event === 'ticket_deleted')!.data).toEqual({
      ticket: { id: secret.id, number: secret.number, requester_id: 'alice' },
    })
    // Bob's stream up to his marker holds only his own ticket.
    const bobSaw = await bob.eventsUntil(last)
    expect(bobSaw.map((f) => [f.event, f.data.ticket.id])).toEqual([
      ['ticket_created', marker.id],
      ['comment_added', marker.id],
    ])

    const agentSaw = await agent.eventsUntil(last)
    const notes = agentSaw.filter((f) => f.event === 'comment_added' && f.data.ticket.id === secret.id)
    expect(notes.map((f) => f.data.comment.is_internal)).toEqual([true, false])
    expect(agentSaw.some((f) => f.event === 'queue_changed')).toBe(false)
    expect(agentSaw.some((f) => f.event === 'ticket_deleted')).toBe(true)

    const adminSaw = await admin.eventsUntil(last)
    const q = adminSaw.find((f) => f.event === 'queue_changed')!
    expect(q.data).toEqual({ action: 'created', queue: { ...queue } })
    expect(adminSaw.filter((f) => f.event === 'comment_added' && f.data.ticket.id === secret.id)).toHaveLength(2)
  })
})

describe('resume', () => {
  it('replays what was missed after Last-Event-ID, in order, filtered for the listener', async () => {
    const alice = await listen('alice')
    const tk = await newTicket('alice', 'Resume me')
    const seen = await alice.next(isTicket('ticket_created', tk.id), 1000)
    alice.close()

    await t.as('agent1').post(`${base}/${tk.id}/comments`, { body_md: 'INTERNAL only', is_internal: true })
    await t.as('agent1').post(`${base}/${tk.id}/comments`, { body_md: 'Hello Alice' })
    await t.as('agent1').patch(`${base}/${tk.id}`, { status: 'pending' })
    const other = await newTicket('bob', 'not for alice')
    // Everything is recorded before the resume (appends run after the request answered).
    const agent = await listen('agent1', { lastEventId: seen.id })
    const agentSaw = await agent.eventsUntil(isTicket('ticket_created', other.id))
    expect(agentSaw.map((f) => f.event)).toEqual([
      'comment_added',
      'comment_added',
      'ticket_updated',
      'ticket_updated',
      'ticket_created',
    ])

    const again = await listen('alice', { lastEventId: seen.id })
    const replayed = await again.eventsUntil((f) => f.event === 'ticket_updated' && f.data.ticket.status === 'pending')
    expect(replayed.map((f) => f.event)).toEqual(['comment_added', 'ticket_updated', 'ticket_updated'])
    expect(replayed[0]!.data.comment.body_md).toBe('Hello Alice')
    const ids = replayed.map((f) => BigInt(f.id!))
    expect(ids.every((id, i) => id > (i ? ids[i - 1]! : BigInt(seen.id!)))).toBe(true)
    // Then live, without a gap or a repeat.
    await t.as('alice').post(`${base}/${tk.id}/comments`, { body_md: 'still broken' })
    const live = await again.next((f) => f.event === 'comment_added', 1000)
    expect(live.data.comment.body_md).toBe('still broken')
    expect(BigInt(live.id!)).toBeGreaterThan(ids.at(-1)!)
  })

  it('refuses a Last-Event-ID that is not an event id (422)', async () => {
    const res = await t.app.handle(
      new Request('http://localhost/api/v1/app/tickets/events', {
        headers: { authorization: `Bearer ${await t.token('alice')}`, 'last-event-id': 'abc' },
      }),
    )
    expect(res.status).toBe(422)
    expect(((await res.json()) as any).error.code).toBe('VALIDATION_ERROR')
  })

  it('keeps an hour: the prune job deletes older rows only', async () => {
    const sql = t.app.db.sql
    await sql`insert into ticket_stream (kind, requester_id, visibility, payload, created_at)
      values ('ticket_created', 'alice', 'public', '{}'::jsonb, now() - interval '61 minutes'),
             ('ticket_created', 'alice', 'public', '{}'::jsonb, now() - interval '50 minutes')`
    await t.app.jobs.enqueue('tickets.prune-stream', {})
    await t.app.jobs.runDue()
    const [c] = await sql<{ old: number; kept: number }[]>`select
      count(*) filter (where created_at < now() - interval '60 minutes')::int as old,
      count(*) filter (where created_at < now() - interval '45 minutes')::int as kept from ticket_stream`
    expect(c).toEqual({ old: 0, kept: 1 })
  })
})

describe('?token=', () => {
  it('authenticates this route by ?token= (a JWT or an API key with tickets:read)', async () => {
    const alice = await listen('alice', { query: true })
    const tk = await newTicket('alice')
    expect((await alice.next(isTicket('ticket_created', tk.id), 1000)).data.ticket.requester_id).toBe('alice')

    const key = (await t.as('alice').post('/api/v1/app/api-keys', { name: 'sse', scopes: ['tickets:read'] })).body.key
    const ok = await t.app.handle(new Request(`http://localhost/api/v1/app/tickets/events?token=${key}`))
    expect(ok.status).toBe(200)
    await ok.body!.cancel()
    const narrow = (await t.as('alice').post('/api/v1/app/api-keys', { name: 'n', scopes: ['files:read'] })).body.key
    const refused = await t.app.handle(new Request(`http://localhost/api/v1/app/tickets/events?token=${narrow}`))
    expect(refused.status).toBe(403)
  })

  it('is refused on every other route, and a bad token is 401', async () => {
    const token = await t.token('alice')
    for (const path of [base, `${base}/queues`, '/api/v1/app/users/me']) {
      const res = await t.app.handle(new Request(`http://localhost${path}?token=${token}`))
      expect(res.status).toBe(401)
    }
    const bad = await t.app.handle(new Request('http://localhost/api/v1/app/tickets/events?token=nope'))
    expect(bad.status).toBe(401)
    const none = await t.app.handle(new Request('http://localhost/api/v1/app/tickets/events'))
    expect(none.status).toBe(401)
  })
})

describe('slow listeners', () => {
  it('drops a listener that stops reading once its buffer is full, and keeps the others', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'omnistack-sse-slow-'))
    const small = await testApp({
      plugins: plugins({ sseMaxBufferBytes: 4096 }),
      env: { DATA_DIR: dir, RATE_LIMIT_DEFAULT: '100000/minute' },
    })
    try {
      const headers = { authorization: `Bearer ${await small.token('carol')}` }
      const stalled = await small.app.handle(new Request('http://localhost/api/v1/app/tickets/events', { headers }))
      const reader = new SseReader(
        await small.app.handle(new Request('http://localhost/api/v1/app/tickets/events', { headers })),
      )
      let lastId = ''
      for (let i = 0; i < 6; i++) {
        const res = await small.as('carol').post(base, { title: `T${i}`, description: 'x'.repeat(1500) })
        lastId = res.body.id
      }
      await reader.next(isTicket('ticket_created', lastId), 2000)
      // Everything reached the reading listener; the stalled one overflowed 4 KB and was cut.
      const body = stalled.body!.getReader()
      await expect(
        (async () => {
          for (;;) if ((await body.read()).done) return 'ended'
        })(),
      ).rejects.toThrow('listener too slow')
      reader.close()
    } finally {
      await small.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('two apps on one database', () => {
  it("an event made on one reaches a listener on the other (without Redis: the other's heartbeat read)", async () => {
    const b = await createApp({
      plugins: plugins(),
      database: t.app.db,
      workers: false,
      env: {
        AUTH_JWT_SECRET: TEST_JWT_SECRET,
        LOG_LEVEL: 'error',
        DATA_DIR: dataDir,
        TICKETS_SSE_HEARTBEAT_MS: String(HEARTBEAT_MS),
      },
    })
    try {
      const onB = await listen('alice', { app: b })
      const tk = await newTicket('alice', 'made on A')
      const e = await onB.next(isTicket('ticket_created', tk.id), HEARTBEAT_MS * 20)
      // The same id as on A: a listener may resume on either.
      const onA = await listen('alice', { lastEventId: String(BigInt(e.id!) - 1n) })
      expect((await onA.next(isTicket('ticket_created', tk.id), 1000)).id).toBe(e.id)
      onB.close()
    } finally {
      await b.stop()
    }
  })
})

/**
 * Live events across two replicas sharing the database and Redis (TEST_REDIS_URL): a change made
 * on A reaches a listener on B over real HTTP through the bus broadcast, not B's heartbeat read
 * (heartbeats are a minute apart here), with the same event id, so a listener may resume on either.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type App, createApp } from '../../../core/index.ts'
import { type Database, openDatabase } from '../../../core/db/index.ts'
import { type RunningServer, serve } from '../../../core/runtime/index.ts'
import type { TestDatabase } from '../../../core/testing/database.ts'
import { scopedKeys, TEST_JWT_SECRET, testApp, type TestApp } from '../../../core/testing/index.ts'
import { createFilesPlugin } from '../../files/index.ts'
import users from '../../users/index.ts'
import { createTicketsPlugin } from '../index.ts'
import { SseReader } from './sse-client.ts'

const url = process.env.TEST_REDIS_URL
// Other test processes may share this Redis: users of this run are unique.
const run = crypto.randomUUID().slice(0, 8)
const alice = `alice-${run}`
const plugins = () => [users, createFilesPlugin(), createTicketsPlugin(), scopedKeys]

describe.skipIf(!url)('live events across two replicas (Redis)', () => {
  let a: TestApp
  let b: App
  let db2: Database
  let dataDir: string
  const servers: RunningServer[] = []
  const readers: SseReader[] = []

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'omnistack-sse-redis-'))
    const env = { REDIS_URL: url!, DATA_DIR: dataDir, TICKETS_SSE_HEARTBEAT_MS: '60000' }
    a = await testApp({ plugins: plugins(), env })
    const dbUrl = (a.app.db as TestDatabase).url
    db2 = dbUrl ? await openDatabase({ url: dbUrl, max: 2 }) : a.app.db
    b = await createApp({
      plugins: plugins(),
      database: db2,
      workers: false,
      env: { ...env, AUTH_JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'error' },
    })
    servers.push(serve(a.app, { port: 0, hostname: '127.0.0.1', signals: false }))
    servers.push(serve(b, { port: 0, hostname: '127.0.0.1', signals: false }))
  }, 30_000)

  afterAll(async () => {
    for (const r of readers) r.close()
    await b?.stop()
    if (db2 && db2 !== a?.app.db) await db2.close()
    await a?.close()
    rmSync(dataDir, { recursive: true, force: true })
  })

  const listen = async (replica: number, lastEventId?: string) => {
    const headers: Record<string, string> = {}
    if (lastEventId) headers['last-event-id'] = lastEventId
    const token = encodeURIComponent(await a.token(alice))
    const res = await fetch(`${servers[replica]!.url}/api/v1/app/tickets/events?token=${token}`, { headers })
    expect(res.status).toBe(200)
    const reader = new SseReader(res)
    readers.push(reader)
    await reader.next((f) => f.comment === 'ok')
    return reader
  }

  it('a ticket opened on A reaches listeners on A and B once each, with one id', async () => {
    const onA = await listen(0)
    const onB = await listen(1)
    const tk = (await a.as(alice).post('/api/v1/app/tickets', { title: 'Across', description: 'replicas' })).body
    const created = (f: { event?: string; data?: any }) => f.event === 'ticket_created' && f.data.ticket.id === tk.id
    const fromA = await onA.next(created, 1000)
    const fromB = await onB.next(created, 1000)
    expect(fromB.id).toBe(fromA.id)

    // A change on B reaches A; a listener that missed it resumes on the other replica.
    const patched = await b.handle(
      new Request(`http://localhost/api/v1/app/tickets/${tk.id}`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${await a.token(alice)}`, 'content-type': 'application/json' },
        body: JSON.stringify({ title: 'Across, edited' }),
      }),
    )
    expect(patched.status).toBe(200)
    const updated = (f: { event?: string; data?: any }) =>
      f.event === 'ticket_updated' && f.data.ticket.title === 'Across, edited'
    const u = await onA.next(updated, 1000)
    const resumed = await listen(1, fromA.id)
    expect((await resumed.next(updated, 1000)).id).toBe(u.id)
    // Exactly once each: the next event on B is the next change, not a repeat.
    await a.as(alice).post(`/api/v1/app/tickets/${tk.id}/comments`, { body_md: 'after' })
    const next = await onB.next((f) => f.event !== undefined, 1000)
    expect(next.event).toBe('ticket_updated')
    expect(next.id).toBe(u.id)
    expect((await onB.next((f) => f.event !== undefined, 1000)).event).toBe('comment_added')
  })
})

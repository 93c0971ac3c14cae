/**
 * When a live stream ends (docs/plugins/tickets.md#live-events-sse): at the `exp` of the JWT
 * that opened it (bearer header or `?token=`), when its API key is revoked, and when the app
 * stops (the plugin's `stop`); a stream on a longer-lived credential stays open meanwhile.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createApp, type App } from '../../../core/index.ts'
import { TEST_JWT_SECRET, testApp, type TestApp } from '../../../core/testing/index.ts'
import email from '../../email/index.ts'
import { createFilesPlugin } from '../../files/index.ts'
import organizations from '../../organizations/index.ts'
import users from '../../users/index.ts'
import { createTicketsPlugin } from '../index.ts'
import { SseReader } from './sse-client.ts'

const HEARTBEAT_MS = 200
const env = (dataDir: string) => ({
  DATA_DIR: dataDir,
  RATE_LIMIT_DEFAULT: '100000/minute',
  TICKETS_SSE_HEARTBEAT_MS: String(HEARTBEAT_MS),
})
let t: TestApp
let dataDir: string
const readers: SseReader[] = []

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'omnistack-sse-life-'))
  // organizations (and its email dependency) only for its `oso_` keys: their revocation ends a stream too.
  t = await testApp({
    plugins: [users, email, organizations, createFilesPlugin(), createTicketsPlugin()],
    env: env(dataDir),
  })
  await t.app.db
    .sql`insert into users (id, email, full_name, role) values ('alice', 'alice@example.com', 'Alice', 'user')`
})
afterAll(async () => {
  for (const r of readers) r.close()
  await t?.close()
  rmSync(dataDir, { recursive: true, force: true })
})

/** Opens the stream with `bearer` (header, or `?token=` when `query`) and waits for its first frame. */
async function listen(bearer: string, opts: { query?: boolean; app?: App } = {}) {
  const url = `http://localhost/api/v1/app/tickets/events${opts.query ? `?token=${encodeURIComponent(bearer)}` : ''}`
  const headers: Record<string, string> = opts.query ? {} : { authorization: `Bearer ${bearer}` }
  const res = await (opts.app ?? t.app).handle(new Request(url, { headers }))
  expect(res.status).toBe(200)
  const reader = new SseReader(res)
  readers.push(reader)
  await reader.next((f) => f.comment === 'ok')
  return reader
}

describe('the stream ends with its credential', () => {
  it("closes at the JWT's exp (header and ?token=), while a longer-lived token's stream goes on", async () => {
    const short = await t.token('alice', { expiresIn: '2s' })
    const exp = JSON.parse(Buffer.from(short.split('.')[1]!, 'base64url').toString()).exp * 1000
    const long = await t.token('alice')
    const byHeader = await listen(short)
    const byQuery = await listen(short, { query: true })
    const lasting = await listen(long)
    expect(byHeader.ended).toBeUndefined()
    const [a, b] = await Promise.all([byHeader.endedWithin(4000), byQuery.endedWithin(4000)])
    // Ended cleanly (the client reconnects), not before the expiry, and not long after it.
    expect(a).toEqual({})
    expect(b).toEqual({})
    expect(Date.now()).toBeGreaterThanOrEqual(exp)
    expect(Date.now()).toBeLessThan(exp + 2000)
    expect(lasting.ended).toBeUndefined()
    await lasting.next((f) => f.comment === 'hb', HEARTBEAT_MS * 10)
    // The expired token opens nothing new.
    const again = await t.app.handle(
      new Request('http://localhost/api/v1/app/tickets/events', { headers: { authorization: `Bearer ${short}` } }),
    )
    expect(again.status).toBe(401)
    await again.body?.cancel()
  })

  it('closes when the API key that opened it is revoked', async () => {
    const created = await t.as('alice').post('/api/v1/app/api-keys', { name: 'dash', scopes: ['tickets:read'] })
    expect(created.status).toBe(201)
    const viaKey = await listen(created.body.key)
    const viaSession = await listen(await t.token('alice'))
    expect((await t.as('alice').delete(`/api/v1/app/api-keys/${created.body.id}`)).status).toBe(204)
    expect(await viaKey.endedWithin(2000)).toEqual({})
    expect(viaSession.ended).toBeUndefined()
  })

  it('closes when the organization key that opened it is revoked', async () => {
    const org = await t.as('alice').post('/api/v1/app/orgs', { name: 'Helpdesk' })
    expect(org.status).toBe(201)
    const keys = `/api/v1/app/orgs/${org.body.id}/api-keys`
    const created = await t.as('alice').post(keys, { name: 'wallboard', scopes: ['tickets:read'] })
    expect(created.status).toBe(201)
    const viaKey = await listen(created.body.key)
    const viaSession = await listen(await t.token('alice'))
    expect((await t.as('alice').delete(`${keys}/${created.body.id}`)).status).toBe(204)
    expect(await viaKey.endedWithin(2000)).toEqual({})
    expect(viaSession.ended).toBeUndefined()
  })
})

describe('the stream ends when the app stops', () => {
  it("ends every open stream cleanly on stop (the plugin's stop hook), so clients reconnect elsewhere", async () => {
    const b = await createApp({
      plugins: [users, createFilesPlugin(), createTicketsPlugin()],
      database: t.app.db,
      workers: false,
      env: { AUTH_JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'error', ...env(dataDir) },
    })
    let stopped = false
    try {
      const r1 = await listen(await t.token('alice'), { app: b })
      const r2 = await listen(await t.token('alice'), { app: b, query: true })
      const onA = await listen(await t.token('alice'))
      await b.stop()
      stopped = true
      expect(await r1.endedWithin(1000)).toEqual({})
      expect(await r2.endedWithin(1000)).toEqual({})
      // Another app's streams are not this app's to end.
      expect(onA.ended).toBeUndefined()
    } finally {
      if (!stopped) await b.stop()
    }
  })
})

/**
 * Live streams at shutdown (docs/plugins/tickets.md#live-events-sse, docs/writing-a-plugin.md#drain):
 * when the server starts draining, the plugin's drain hook ends every stream with a reconnect hint
 * (`retry:`), so a real server on loopback exits at once instead of waiting SHUTDOWN_TIMEOUT_MS;
 * a stream opened after the drain began ends at once with the same hint.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createApp, type App } from '../../../core/index.ts'
import { serve } from '../../../core/runtime/index.ts'
import { TEST_JWT_SECRET, testApp, type TestApp } from '../../../core/testing/index.ts'
import { createFilesPlugin } from '../../files/index.ts'
import users from '../../users/index.ts'
import { createTicketsPlugin } from '../index.ts'
import { SseReader, type SseFrame } from './sse-client.ts'
import { base } from './support.ts'

const SHUTDOWN_TIMEOUT_MS = 10_000
const env = (dataDir: string) => ({
  DATA_DIR: dataDir,
  RATE_LIMIT_DEFAULT: '100000/minute',
  SHUTDOWN_GRACE_MS: '0',
  SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
})
const plugins = () => [users, createFilesPlugin(), createTicketsPlugin()]
let t: TestApp
let dataDir: string
const readers: SseReader[] = []

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'omnistack-sse-drain-'))
  t = await testApp({ plugins: plugins(), env: env(dataDir) })
  await t.app.db
    .sql`insert into users (id, email, full_name, role) values ('alice', 'alice@example.com', 'Alice', 'user')`
})
afterAll(async () => {
  for (const r of readers) r.close()
  await t?.close()
  rmSync(dataDir, { recursive: true, force: true })
})

/** Reads a stream's frames from its first bytes (`:ok` expected first unless the stream is over). */
function read(res: Response) {
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toStartWith('text/event-stream')
  const reader = new SseReader(res)
  readers.push(reader)
  return reader
}

/** Waits for the stream's opening block: `retry: 3000` and the `:ok` comment. */
async function opened(r: SseReader) {
  await r.next((f) => f.comment === 'ok')
  expect((await r.next((f) => f.retry !== undefined, 1000)).retry).toBe(3000)
  return r
}

/** The shutdown hint: a `retry:` of 1 to 4 s with the `:draining` comment (parsed in that order). */
const isHint = (f: SseFrame) => f.retry !== undefined
const expectHint = (frames: SseFrame[]) => {
  const at = frames.findIndex((f) => f.comment === 'draining')
  expect(at).toBeGreaterThanOrEqual(0)
  expect(frames.filter(isHint)).toHaveLength(1)
  const hint = frames[at + 1]!
  expect(hint.retry).toBeGreaterThanOrEqual(1000)
  expect(hint.retry).toBeLessThan(4000)
}

describe('drain without a server', () => {
  it('ends open streams with a reconnect hint, and a stream opened afterwards at once', async () => {
    const b: App = await createApp({
      plugins: plugins(),
      database: t.app.db,
      workers: false,
      env: { AUTH_JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'error', ...env(dataDir) },
    })
    try {
      const token = await t.token('alice')
      const url = `http://localhost/api/v1/app/tickets/events`
      const before = await opened(
        read(await b.handle(new Request(url, { headers: { authorization: `Bearer ${token}` } }))),
      )
      // Another app on the same database keeps its stream: drain is per app.
      const elsewhere = await opened(
        read(await t.app.handle(new Request(url, { headers: { authorization: `Bearer ${token}` } }))),
      )

      await b.drainPlugins()
      expect(await before.endedWithin(1000)).toEqual({})
      expectHint(before.frames)
      expect(elsewhere.ended).toBeUndefined()

      // Accepted while the listener was closing: the hint and the end, no `:ok`, nothing live.
      const late = read(await b.handle(new Request(`${url}?token=${encodeURIComponent(token)}`)))
      expect(await late.endedWithin(1000)).toEqual({})
      expect(late.frames.some((f) => f.comment === 'ok')).toBe(false)
      expectHint(late.frames)
      // Once only: a second drain finds nothing to do.
      await b.drainPlugins()
    } finally {
      await b.stop()
    }
  })
})

describe('shutdown of a real server with open streams', () => {
  it('ends the streams as the drain begins and exits well before SHUTDOWN_TIMEOUT_MS', async () => {
    const server = serve(t.app, { port: 0, hostname: '127.0.0.1', signals: false })
    const token = await t.token('alice')
    const url = `${server.url}/api/v1/app/tickets/events`
    const byHeader = read(await fetch(url, { headers: { authorization: `Bearer ${token}` } }))
    const byQuery = read(await fetch(`${url}?token=${encodeURIComponent(token)}`))
    await opened(byHeader)
    await opened(byQuery)
    // Live before the shutdown: an event of alice's ticket arrives with its id.
    const created = await t.as('alice').post(base, { title: 'Drain me', description: 'Before the shutdown' })
    expect(created.status).toBe(201)
    const event = await byHeader.next((f) => f.event === 'ticket_created', 3000)
    expect(event.id).toMatch(/^\d+$/)

    const began = Date.now()
    await server.shutdown()
    const took = Date.now() - began
    // Without the drain hook the open streams hold stop() until the timeout (10 s).
    expect(took).toBeLessThan(3000)
    for (const r of [byHeader, byQuery]) {
      expect(await r.endedWithin(1000)).toEqual({})
      expectHint(r.frames)
    }
    // The listener is closed: a reconnect goes elsewhere.
    const refused = await fetch(url, { headers: { authorization: `Bearer ${token}` } }).then(
      () => 'answered',
      () => 'refused',
    )
    expect(refused).toBe('refused')
  }, 30_000)
})

/** Test helpers of the tickets plugin: an app with users, files and tickets, staff roles, a settable clock. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { App } from '../../../core/index.ts'
import { keyHeader, scopedKeys, testApp, type TestApp } from '../../../core/testing/index.ts'
import { createFilesPlugin } from '../../files/index.ts'
import users from '../../users/index.ts'
import { createTicketsPlugin } from '../index.ts'

export { keyHeader }

/** A clock tests move by hand: `clock.now()` is what the plugin reads. */
export function testClock(start = new Date('2026-03-02T09:00:00.000Z')) {
  let at = start.getTime()
  return {
    now: () => new Date(at),
    set: (d: Date | string) => void (at = new Date(d).getTime()),
    advance: (ms: number) => void (at += ms),
    tick: () => void (at += 1),
  }
}

export interface TicketsTestApp extends TestApp {
  clock: ReturnType<typeof testClock>
  /** Creates (or updates) a user row with this role before their first request. */
  user(id: string, role?: 'user' | 'agent' | 'admin' | 'superadmin'): Promise<void>
}

export async function ticketsApp(
  options: { clock?: boolean; env?: Record<string, string>; extra?: any[] } = {},
): Promise<TicketsTestApp> {
  const clock = testClock()
  // Each timestamp a step apart, so newest-first order is the order of the test's actions.
  const now = options.clock === false ? () => new Date() : () => (clock.tick(), clock.now())
  const dataDir = mkdtempSync(join(tmpdir(), 'omnistack-tickets-'))
  const t = await testApp({
    plugins: [users, createFilesPlugin({ now }), createTicketsPlugin({ now }), scopedKeys, ...(options.extra ?? [])],
    env: { DATA_DIR: dataDir, RATE_LIMIT_DEFAULT: '100000/minute', ...options.env },
  })
  const sql = t.app.db.sql
  const close = t.close
  return Object.assign(t, {
    async close() {
      await close()
      rmSync(dataDir, { recursive: true, force: true })
    },
    clock,
    async user(id: string, role: 'user' | 'agent' | 'admin' | 'superadmin' = 'user') {
      await sql`insert into users (id, email, full_name, role) values (${id}, ${`${id}@example.com`}, ${id}, ${role})
        on conflict (id) do update set role = excluded.role`
    },
  })
}

/** Sends a request to a URL the server handed out (PUBLIC_URL origin) through app.handle. */
export function viaApp(app: App, url: string, init: RequestInit = {}) {
  const u = new URL(url)
  return app.handle(new Request(`http://localhost${u.pathname}${u.search}`, init), '127.0.0.1')
}

export const base = '/api/v1/app/tickets'

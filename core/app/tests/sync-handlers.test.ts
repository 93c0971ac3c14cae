/**
 * The hot path stays synchronous: Elysia compiles a route `async` (a promise per request) when
 * any hook reads as async from its source, and parses cookies for every route when a hook uses
 * the whole context. Both happened by accident once (bench/README.md); this guards them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { testApp, type TestApp } from '../../testing/index.ts'
import { createEchoPlugin } from '../../testing/fixtures/echo-plugin.ts'

const echo = createEchoPlugin()
let t: TestApp

beforeAll(async () => {
  t = await testApp({ plugins: [echo.plugin], env: { ADMIN_EMAILS: 'root@example.com' } })
})
afterAll(() => t?.close())

/** The handler Elysia compiled for `path` (compiled on first use). */
function compiled(method: string, path: string): Function {
  const routes = (
    t.app.elysia as unknown as { router: { history: { method: string; path: string; composed: Function }[] } }
  ).router.history
  const route = routes.find((r) => r.method === method && r.path === path)
  if (!route) throw new Error(`no route ${method} ${path}`)
  return route.composed
}

describe('compiled handlers', () => {
  it('are synchronous for synchronous /app, /admin and /public routes, with no cookie parsing', async () => {
    const admin = { sub: 'root', email: 'root@example.com' }
    expect((await t.as('alice').get('/api/v2/app/echo/me')).status).toBe(200)
    expect((await t.get('/api/v1/public/echo/ping')).status).toBe(200)
    expect((await t.as(admin).get('/api/v1/admin/echo/ping')).status).toBe(200)
    for (const path of ['/api/v2/app/echo/me', '/api/v1/public/echo/ping', '/api/v1/admin/echo/ping']) {
      const fn = compiled('GET', path)
      const source = fn.toString()
      expect(`${path}: ${source.slice(0, 18)}`).toBe(`${path}: function handle(c)`)
      expect(fn.constructor.name).toBe('Function')
      expect(source).not.toContain('parseCookie')
    }
  })

  it('still answer errors (in an async branch) with the contract shape', async () => {
    const res = await t.as('alice').get('/api/v2/app/echo/items/not-a-number')
    expect(res.status).toBeGreaterThanOrEqual(400)
    expect(res.body.error.code).toBeString()
    expect(res.body.meta.version).toBe('v2')
  })
})

/**
 * Conformance (Core II): walks every route the SaaS starter's plugins register (plus the
 * contract fixture) and checks the contract mechanically, so later plugins are covered
 * without writing anything: documented in /openapi.json, version and rate-limit headers,
 * v2 envelope, errors in the contract's shape, and never a 500 for what a client can send.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { testApp, type TestApp } from '../../core/testing/index.ts'
import { createEchoPlugin } from '../../core/testing/fixtures/echo-plugin.ts'
import { plugins } from './app.ts'

let t: TestApp
const DUMMY_ID = '00000000-0000-4000-8000-000000000000'
const EXEMPT = /\/public\/(health|metrics)/
/** The fixture's route that fails on purpose to prove 500s do not leak. */
const INTENTIONAL_500 = /\/echo\/boom$/

beforeAll(async () => {
  t = await testApp({
    plugins: [...plugins, createEchoPlugin().plugin],
    env: { SUPERADMIN_EMAILS: 'conformance@example.com', RATE_LIMIT_DEFAULT: '100000/minute' },
  })
})
afterAll(() => t?.close())

const apiRoutes = () =>
  t.app.elysia.routes
    .filter((r) => /^\/api\/v[12]\//.test(r.path) && r.method !== 'WS' && r.method !== 'ALL')
    .map((r) => ({ method: r.method.toUpperCase(), path: r.path }))

const fill = (path: string) => path.replace(/:[A-Za-z_]+/g, DUMMY_ID).replace(/\*$/, 'x')
const admin = { sub: 'conformance-admin', email: 'conformance@example.com' }

describe('conformance', () => {
  it('finds routes to check', () => {
    expect(apiRoutes().length).toBeGreaterThan(10)
  })

  it('documents every route in /openapi.json with a tag', async () => {
    const spec = (await t.get('/openapi.json')).body
    const missing: string[] = []
    for (const r of apiRoutes()) {
      const oaPath = r.path.replace(/:([A-Za-z_]+)/g, '{$1}')
      const op = spec.paths?.[oaPath]?.[r.method.toLowerCase()]
      if (!op?.tags?.length) missing.push(`${r.method} ${r.path}`)
      else if (/\/(app|admin)\//.test(r.path) && !op.security) missing.push(`${r.method} ${r.path} (no security)`)
    }
    expect(missing).toEqual([])
  })

  it('answers every route with the contract headers, envelope and error shape', async () => {
    const problems: string[] = []
    for (const r of apiRoutes()) {
      const path = fill(r.path)
      const client = /\/(app|admin)\//.test(r.path) ? t.as(admin) : t
      const body = ['POST', 'PUT', 'PATCH'].includes(r.method) ? {} : undefined
      const res = await client.request(r.method, path, { body })
      const where = `${r.method} ${r.path} -> ${res.status}`
      // An optional provider left unconfigured answers 503 naming its variable (billing, ai).
      const unconfigured =
        res.status === 503 && res.body?.error?.code === 'SERVICE_UNAVAILABLE' && typeof res.body?.error?.details?.missing === 'string'
      if (res.status >= 500 && !INTENTIONAL_500.test(r.path) && !unconfigured) problems.push(`${where}: server error for a client input`)
      const version = r.path.slice(5, 7)
      if (res.headers.get('x-api-version') !== version) problems.push(`${where}: X-API-Version`)
      if (!res.headers.get('x-request-id')) problems.push(`${where}: X-Request-ID`)
      if (!EXEMPT.test(r.path) && !res.headers.get('x-ratelimit-limit')) problems.push(`${where}: X-RateLimit-*`)
      const json = (res.headers.get('content-type') ?? '').includes('application/json')
      if (res.status >= 400) {
        const e = res.body?.error
        if (!json || typeof e?.code !== 'string' || typeof e?.message !== 'string' || typeof e?.details !== 'object') {
          problems.push(`${where}: error not in the contract's shape`)
        }
        if (version === 'v2' && res.body?.meta?.version !== 'v2') problems.push(`${where}: v2 error without meta`)
      } else if (version === 'v2' && json && res.status !== 204) {
        if (!('data' in (res.body ?? {})) || res.body?.meta?.version !== 'v2') problems.push(`${where}: v2 not enveloped`)
      }
    }
    expect(problems).toEqual([])
  }, 120_000)

  it('refuses /app and /admin routes without a bearer, in the contract shape', async () => {
    const problems: string[] = []
    for (const r of apiRoutes().filter((r) => /\/(app|admin)\//.test(r.path))) {
      const res = await t.request(r.method, fill(r.path))
      if (res.status !== 401 || res.body?.error?.code !== 'AUTHENTICATION_ERROR') problems.push(`${r.method} ${r.path} -> ${res.status}`)
    }
    expect(problems).toEqual([])
  })
})

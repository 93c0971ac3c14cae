/** The SaaS starter's conformance checks on the billing routes: documented, contract headers and shapes, no 5xx for client input (503 only when unconfigured). */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import type { TestApp } from '../../../core/testing/index.ts'
import { startFakeStripe, type FakeStripe } from './fakes/stripe-api.ts'
import { billingApp, stripeEnv } from './support.ts'

const DUMMY_ID = '00000000-0000-4000-8000-000000000000'
const admin = { sub: 'conformance-admin', email: 'conformance@example.com' }
let fake: FakeStripe
let t: TestApp
let bare: TestApp

beforeAll(async () => {
  fake = startFakeStripe()
  const env = { SUPERADMIN_EMAILS: admin.email, RATE_LIMIT_DEFAULT: '100000/minute' }
  t = await billingApp({
    ...env,
    ...stripeEnv(fake),
    APPLE_BUNDLE_ID: 'com.example.app',
    GOOGLE_PACKAGE_NAME: 'com.example.app',
  })
  bare = await billingApp(env)
})
afterAll(async () => {
  await t?.close()
  await bare?.close()
  fake?.close()
})

const billingRoutes = (app: TestApp) =>
  app.app.elysia.routes
    .filter(
      (r) => /^\/api\/v[12]\/(app\/billing|public\/webhooks)/.test(r.path) && r.method !== 'WS' && r.method !== 'ALL',
    )
    .map((r) => ({ method: r.method.toUpperCase(), path: r.path }))

const fill = (path: string) => path.replace(/:[A-Za-z_]+/g, DUMMY_ID)

/** The problems of one walk over every billing route (the starter's conformance rules). */
async function walk(app: TestApp, allowed5xx: (status: number, code: string | undefined) => boolean) {
  const problems: string[] = []
  for (const r of billingRoutes(app)) {
    const client = /\/(app|admin)\//.test(r.path) ? app.as(admin) : app
    const res = await client.request(r.method, fill(r.path), {
      body: ['POST', 'PUT', 'PATCH'].includes(r.method) ? {} : undefined,
    })
    const where = `${r.method} ${r.path} -> ${res.status}`
    const version = r.path.slice(5, 7)
    if (res.status >= 500 && !allowed5xx(res.status, res.body?.error?.code))
      problems.push(`${where}: server error for a client input`)
    if (res.headers.get('x-api-version') !== version) problems.push(`${where}: X-API-Version`)
    if (!res.headers.get('x-request-id')) problems.push(`${where}: X-Request-ID`)
    if (!res.headers.get('x-ratelimit-limit')) problems.push(`${where}: X-RateLimit-*`)
    const json = (res.headers.get('content-type') ?? '').includes('application/json')
    if (res.status >= 400) {
      const e = res.body?.error
      if (!json || typeof e?.code !== 'string' || typeof e?.message !== 'string' || typeof e?.details !== 'object')
        problems.push(`${where}: error shape`)
      if (version === 'v2' && res.body?.meta?.version !== 'v2') problems.push(`${where}: v2 error without meta`)
    } else if (version === 'v2' && json && res.status !== 204) {
      if (!('data' in (res.body ?? {})) || res.body?.meta?.version !== 'v2') problems.push(`${where}: v2 not enveloped`)
    }
  }
  return problems
}

describe('billing conformance', () => {
  it('registers every seed route under v1 and v2', () => {
    const paths = billingRoutes(t).map((r) => `${r.method} ${r.path}`)
    for (const v of ['v1', 'v2']) {
      for (const route of [
        'GET /app/billing/status',
        'POST /app/billing/checkout',
        'GET /app/billing/portal',
        'GET /app/billing/invoices',
        'POST /app/billing/cancel',
        'POST /app/billing/resume',
        'POST /app/billing/mobile/link',
        'POST /public/webhooks/stripe',
        'POST /public/webhooks/apple',
        'POST /public/webhooks/google',
      ]) {
        const [method, path] = route.split(' ')
        expect(paths).toContain(`${method} /api/${v}${path}`)
      }
    }
  })

  it('documents every route in /openapi.json with a tag, and security on /app and /admin', async () => {
    const spec = (await t.get('/openapi.json')).body
    const missing: string[] = []
    for (const r of billingRoutes(t)) {
      const op = spec.paths?.[r.path.replace(/:([A-Za-z_]+)/g, '{$1}')]?.[r.method.toLowerCase()]
      if (!op?.tags?.includes('Billing')) missing.push(`${r.method} ${r.path}`)
      else if (/\/(app|admin)\//.test(r.path) && !op.security) missing.push(`${r.method} ${r.path} (no security)`)
      else if (/webhooks\/(stripe|apple|google)$/.test(r.path) && !op.requestBody)
        missing.push(`${r.method} ${r.path} (no request body)`)
    }
    expect(missing).toEqual([])
  })

  it('answers every route with the contract when configured, never a 5xx for client input', async () => {
    expect(await walk(t, () => false)).toEqual([])
  }, 60_000)

  it('answers only 503 SERVICE_UNAVAILABLE as a server error when nothing is configured', async () => {
    expect(await walk(bare, (status, code) => status === 503 && code === 'SERVICE_UNAVAILABLE')).toEqual([])
  }, 60_000)

  it('refuses /app and /admin routes without a bearer', async () => {
    const wrong: string[] = []
    for (const r of billingRoutes(t).filter((r) => /\/(app|admin)\//.test(r.path))) {
      const res = await t.request(r.method, fill(r.path))
      if (res.status !== 401 || res.body?.error?.code !== 'AUTHENTICATION_ERROR')
        wrong.push(`${r.method} ${r.path} -> ${res.status}`)
    }
    expect(wrong).toEqual([])
  })
})

/**
 * Conformance (Core II): walks every route the SaaS starter's plugins register (plus the
 * contract fixture) and checks the contract mechanically, so later plugins are covered
 * without writing anything: documented in /openapi.json, version and rate-limit headers,
 * v2 envelope, errors in the contract's shape, and never a 500 for what a client can send.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { ERROR_CODES } from '../../core/index.ts'
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

  it('serves a document per version that a typed client can trust', async () => {
    const problems: string[] = []
    const codes = Object.keys(ERROR_CODES).sort()
    for (const version of ['v1', 'v2'] as const) {
      const res = await t.get(`/openapi/${version}.json`)
      expect(res.status).toBe(200)
      const doc = res.body
      const text = JSON.stringify(doc)
      if (text.includes('"nullable"')) problems.push(`${version}: nullable`)
      if (/"format":"(integer|numeric)"/.test(text)) problems.push(`${version}: numbers typed as strings`)
      expect(doc.components.schemas.ErrorBody.properties.code.enum.slice().sort()).toEqual(codes)
      const ids = new Set<string>()
      for (const [path, ops] of Object.entries<Record<string, any>>(doc.paths)) {
        if (!path.startsWith(`/api/${version}/`)) problems.push(`${version}: foreign path ${path}`)
        if (path.endsWith('/')) problems.push(`${path}: trailing slash`)
        for (const [method, op] of Object.entries<any>(ops)) {
          const where = `${method.toUpperCase()} ${path}`
          if (!/^[a-z][a-z0-9_]*$/.test(op.operationId ?? '')) problems.push(`${where}: operationId ${op.operationId}`)
          if (ids.has(op.operationId)) problems.push(`${where}: duplicate operationId ${op.operationId}`)
          ids.add(op.operationId)
          const statuses = Object.keys(op.responses)
          const need = ['500']
          if (/\/(app|admin)\//.test(path)) need.push('401', '403')
          if (/\{[^}]+\}/.test(path)) need.push('404')
          if (method === 'post' && /\/app\//.test(path)) need.push('409', '422')
          if (op.requestBody) need.push('400', '413')
          if (!/\/public\/(health|metrics)/.test(path)) need.push('429')
          if (/\/health\/ready$/.test(path)) need.push('503')
          if (/\/app\/ws$/.test(path)) need.push('101', '426')
          for (const s of need) if (!statuses.includes(s)) problems.push(`${where}: ${s} not documented`)
          for (const p of op.parameters ?? []) {
            if (p.in === 'query' && p.schema?.default !== undefined && p.required)
              problems.push(`${where}: ${p.name} required`)
          }
          for (const [status, r] of Object.entries<any>(op.responses)) {
            const schema = r.content?.['application/json']?.schema
            const n = Number(status)
            // Readiness answers 503 with its own body (the failing component), not an error.
            if (n >= 400 && !(n === 503 && /\/health\/ready$/.test(path))) {
              const ref = version === 'v2' ? '#/components/schemas/ErrorV2' : '#/components/schemas/Error'
              if (schema?.$ref !== ref) problems.push(`${where} ${status}: error schema ${schema?.$ref}`)
              const code = r.content['application/json'].example?.error?.code
              if ((ERROR_CODES as Record<string, { status: number }>)[code]?.status !== n)
                problems.push(`${where} ${status}: example code ${code}`)
            } else if (n === 204 && r.content) problems.push(`${where}: 204 with content`)
            else if (
              version === 'v2' &&
              schema &&
              !(schema.required?.includes('data') && schema.required?.includes('meta'))
            ) {
              problems.push(`${where} ${status}: v2 success not enveloped`)
            } else if (version === 'v1' && schema?.properties?.meta) problems.push(`${where} ${status}: v1 with meta`)
          }
        }
      }
    }
    const v2 = (await t.get('/openapi/v2.json')).body
    const list = v2.paths['/api/v2/app/projects'].get
    expect(list.operationId).toBe('projects_list')
    expect(list.responses['200'].content['application/json'].schema.properties.data.type).toBe('array')
    expect(list.responses['200'].content['application/json'].schema.properties.meta.$ref).toBe(
      '#/components/schemas/PagedMeta',
    )
    expect(v2.paths['/api/v2/app/projects'].post.requestBody.content['application/json'].example.name).toEqual(
      expect.any(String),
    )
    const both = (await t.get('/openapi.json')).body
    expect(both.paths['/api/v1/app/projects'].get.operationId).toBe('v1_projects_list')
    expect(both.paths['/api/v2/app/projects'].get.operationId).toBe('v2_projects_list')
    expect(problems).toEqual([])
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
        res.status === 503 &&
        res.body?.error?.code === 'SERVICE_UNAVAILABLE' &&
        typeof res.body?.error?.details?.missing === 'string'
      if (res.status >= 500 && !INTENTIONAL_500.test(r.path) && !unconfigured)
        problems.push(`${where}: server error for a client input`)
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
        if (!('data' in (res.body ?? {})) || res.body?.meta?.version !== 'v2')
          problems.push(`${where}: v2 not enveloped`)
      }
    }
    expect(problems).toEqual([])
  }, 120_000)

  it('refuses /app and /admin routes without a bearer, in the contract shape', async () => {
    const problems: string[] = []
    for (const r of apiRoutes().filter((r) => /\/(app|admin)\//.test(r.path))) {
      const res = await t.request(r.method, fill(r.path))
      if (res.status !== 401 || res.body?.error?.code !== 'AUTHENTICATION_ERROR')
        problems.push(`${r.method} ${r.path} -> ${res.status}`)
    }
    expect(problems).toEqual([])
  })
})

/**
 * The OpenAPI documents tell the truth: boots the SaaS starter, drives its main flows in v1 and v2
 * and validates every response against the operation's documented schema for that status (Ajv,
 * JSON Schema draft 2020-12, as OpenAPI 3.1 uses). An undocumented status, an undocumented body or
 * a body that does not match fails the test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import Ajv2020 from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import { type Client, type TestApp, type TestResponse, testApp } from '../../core/testing/index.ts'
import { plugins } from './app.ts'

type Json = Record<string, any>
let t: TestApp
const docs: Record<'v1' | 'v2', Json> = { v1: {}, v2: {} }
const ajv = new Ajv2020({ strict: false, allErrors: true })
addFormats(ajv)
ajv.addFormat('binary', true)
const problems: string[] = []
const seen: string[] = []

beforeAll(async () => {
  t = await testApp({
    plugins,
    env: { SUPERADMIN_EMAILS: 'responses-admin@example.com', RATE_LIMIT_DEFAULT: '100000/minute' },
  })
  for (const v of ['v1', 'v2'] as const) {
    docs[v] = (await t.get(`/openapi/${v}.json`)).body
    ajv.addSchema(docs[v], `https://omnistack.test/${v}`)
  }
}, 300_000)
afterAll(() => t?.close())

const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')

/** The documented operation for a concrete path: `/api/v2/app/projects/<uuid>` -> `/api/v2/app/projects/{project_id}`. */
function operationOf(version: 'v1' | 'v2', method: string, path: string): { template: string; op: Json } | undefined {
  const bare = path.split('?')[0]!
  for (const [template, ops] of Object.entries<Json>(docs[version].paths)) {
    const re = new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '[^/]+')}$`)
    if (re.test(bare) && ops[method.toLowerCase()]) return { template, op: ops[method.toLowerCase()] }
  }
  return undefined
}

/** Validates one response against the document of its version; records every mismatch. */
function check(method: string, path: string, res: TestResponse): TestResponse {
  const version = path.startsWith('/api/v1/') ? 'v1' : 'v2'
  const where = `${method} ${path} -> ${res.status}`
  seen.push(where)
  const found = operationOf(version, method, path)
  if (!found) {
    problems.push(`${where}: no documented operation`)
    return res
  }
  const documented = found.op.responses[String(res.status)]
  if (!documented) {
    problems.push(`${where}: status not documented (${Object.keys(found.op.responses).join(', ')})`)
    return res
  }
  const type = res.headers.get('content-type') ?? ''
  if (res.status === 204 || res.status === 101) return res
  if (!type.includes('application/json')) {
    if (
      documented.content &&
      !Object.keys(documented.content).some((k) => type.startsWith(k.split(';')[0]!) || k === '*/*')
    ) {
      problems.push(`${where}: ${type} not documented`)
    }
    return res
  }
  if (!documented.content?.['application/json']?.schema) {
    problems.push(`${where}: JSON body with no documented schema`)
    return res
  }
  const ref = `https://omnistack.test/${version}#/${pointer('paths', found.template, method.toLowerCase(), 'responses', String(res.status), 'content', 'application/json', 'schema')}`
  const validate = ajv.getSchema(ref) ?? ajv.compile({ $ref: ref })
  if (!validate(res.body)) problems.push(`${where}: ${ajv.errorsText(validate.errors)}`)
  return res
}

/** A client that checks every response it gets. */
function checked(client: Client): Client {
  const request = async (method: string, path: string, init?: Parameters<Client['request']>[2]) =>
    check(method, path, await client.request(method, path, init))
  return {
    request,
    get: (p, i) => request('GET', p, i),
    post: (p, b, i) => request('POST', p, { ...i, body: b }),
    patch: (p, b, i) => request('PATCH', p, { ...i, body: b }),
    put: (p, b, i) => request('PUT', p, { ...i, body: b }),
    delete: (p, i) => request('DELETE', p, i),
  }
}

const MISSING = '00000000-0000-4000-8000-000000000000'

describe('responses match the OpenAPI documents', () => {
  for (const v of ['v1', 'v2'] as const) {
    it(`${v}: main flows validate against /openapi/${v}.json`, async () => {
      const base = `/api/${v}`
      const admin = checked(t.as({ sub: `resp-admin-${v}`, email: 'responses-admin@example.com', name: 'Ada Admin' }))
      const user = checked(t.as({ sub: `resp-user-${v}`, email: `resp-user-${v}@example.com`, name: 'Grace User' }))
      const anon = checked(t)
      const body = (r: TestResponse) => (v === 'v2' ? r.body.data : r.body)

      // Public: health, readiness, contact.
      expect((await anon.get(`${base}/public/health`)).status).toBe(200)
      expect([200, 503]).toContain((await anon.get(`${base}/public/health/ready`)).status)
      await anon.get(`${base}/public/contact/status`)
      await anon.post(`${base}/public/contact`, {
        name: 'Ada Lovelace',
        email: 'ada@example.com',
        message: 'Hello, I would like to know more about the Pro plan.',
      })
      await anon.post(`${base}/public/contact`, { name: 'A' })
      expect((await anon.get(`${base}/app/projects`)).status).toBe(401)

      // Users and API keys.
      expect((await user.get(`${base}/app/users/me`)).status).toBe(200)
      await user.patch(`${base}/app/users/me`, { name: 'Grace Hopper' })
      const key = await user.post(`${base}/app/api-keys`, { name: 'ci', scopes: ['projects:read'] })
      expect(key.status).toBe(201)
      expect((await user.get(`${base}/app/api-keys`)).status).toBe(200)
      expect((await user.delete(`${base}/app/api-keys/${body(key).id}`)).status).toBe(204)
      await user.delete(`${base}/app/api-keys/${MISSING}`)

      // Projects CRUD and list.
      const created = await user.post(`${base}/app/projects`, {
        name: 'Website redesign',
        description: 'Spring launch',
      })
      expect(created.status).toBe(201)
      const id = body(created).id
      expect((await user.get(`${base}/app/projects?limit=5`)).status).toBe(200)
      expect((await user.get(`${base}/app/projects/${id}`)).status).toBe(200)
      expect((await user.patch(`${base}/app/projects/${id}`, { description: null })).status).toBe(200)
      expect((await user.get(`${base}/app/projects/${MISSING}`)).status).toBe(404)
      expect((await user.post(`${base}/app/projects`, {})).status).toBe(422)
      expect((await user.get(`${base}/app/projects/not-a-uuid`)).status).toBeGreaterThanOrEqual(400)
      expect((await user.delete(`${base}/app/projects/${id}`)).status).toBe(204)

      // Files.
      const upload = await user.post(`${base}/app/files/upload-url`, {
        filename: 'notes.txt',
        content_type: 'text/plain',
        size: 5,
      })
      expect(upload.status).toBe(200)
      const fileId = body(upload).file_id ?? body(upload).id
      await user.post(`${base}/app/files/confirm`, { file_id: fileId ?? MISSING })
      expect((await user.get(`${base}/app/files`)).status).toBe(200)
      await user.get(`${base}/app/files/${MISSING}`)

      // Feature flags.
      const flag = await admin.post(`${base}/admin/feature-flags`, {
        key: `resp-${v}`,
        name: 'Responses',
        is_enabled: true,
      })
      expect(flag.status).toBe(201)
      expect((await admin.get(`${base}/admin/feature-flags`)).status).toBe(200)
      expect((await admin.get(`${base}/admin/feature-flags/${body(flag).id}`)).status).toBe(200)
      expect((await user.get(`${base}/app/feature-flags`)).status).toBe(200)
      await user.get(`${base}/app/feature-flags/resp-${v}`)
      expect((await admin.delete(`${base}/admin/feature-flags/${body(flag).id}`)).status).toBe(204)

      // Usage.
      for (const p of ['summary', 'current-period', 'trends', 'daily', 'breakdown', 'metrics']) {
        const res = await user.get(
          `${base}/app/usage/${p}${['trends', 'daily', 'breakdown'].includes(p) ? '?metric=api_requests' : ''}`,
        )
        if (res.status !== 200) problems.push(`GET ${base}/app/usage/${p} -> ${res.status}: ${res.text}`)
      }

      // Admin lists; a user is refused.
      for (const p of [
        'users',
        'jobs',
        'dashboard/stats',
        'dashboard/audit-logs',
        'email/outbox',
        'contact/submissions',
        'webhooks/events',
        'usage/top-users',
      ]) {
        expect((await admin.get(`${base}/admin/${p}`)).status).toBe(200)
      }
      expect((await user.get(`${base}/admin/users`)).status).toBe(403)

      // Billing and AI without a provider: 503 naming the variable (or a status when configured).
      await user.get(`${base}/app/billing/status`)
      await user.get(`${base}/app/ai/status`)
    }, 300_000)
  }

  it('documents examples that match their own schemas (request bodies and responses)', () => {
    const bad: string[] = []
    let count = 0
    for (const v of ['v1', 'v2'] as const) {
      for (const [path, ops] of Object.entries<Json>(docs[v].paths)) {
        for (const [method, op] of Object.entries<Json>(ops)) {
          const media: [string[], Json | undefined][] = [
            [['requestBody', 'content', 'application/json'], op.requestBody?.content?.['application/json']],
            ...Object.entries<Json>(op.responses).map(
              ([s, r]) =>
                [['responses', s, 'content', 'application/json'], r.content?.['application/json']] as [
                  string[],
                  Json | undefined,
                ],
            ),
          ]
          for (const [at, m] of media) {
            if (!m || m.example === undefined) continue
            count++
            const ref = `https://omnistack.test/${v}#/${pointer('paths', path, method, ...at, 'schema')}`
            const validate = ajv.getSchema(ref) ?? ajv.compile({ $ref: ref })
            if (!validate(m.example))
              bad.push(`${method.toUpperCase()} ${path} ${at.join('.')}: ${ajv.errorsText(validate.errors)}`)
          }
        }
      }
    }
    expect(count).toBeGreaterThan(500)
    expect(bad).toEqual([])
  })

  it('found no response outside the documents', () => {
    expect(seen.length).toBeGreaterThan(90)
    expect(problems).toEqual([])
  })
})

/**
 * The OpenAPI documents tell the truth: boots the SaaS starter, drives its main flows in v1 and v2;
 * the test client checks every response against the operation's documented schema for that status
 * (core/testing/response-check.ts: Ajv, JSON Schema draft 2020-12, as OpenAPI 3.1 uses) and throws
 * on an undocumented status, an undocumented body or a body that does not match. Also: the check
 * reads the documents the app serves, every example matches its own schema, and no shipped route
 * leaves its success body undocumented (the one exception the check makes, for test-only routes).
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import {
  type Client,
  declaresNoResponse,
  type ResponseCheck,
  responseCheckFor,
  type TestApp,
  type TestResponse,
  testApp,
} from '../../core/testing/index.ts'
import tickets from '../../plugins/tickets/index.ts'
import { plugins } from './app.ts'

type Json = Record<string, any>
let t: TestApp
let check: ResponseCheck
const problems: string[] = []
const seen: string[] = []

beforeAll(async () => {
  t = await testApp({
    plugins,
    env: { SUPERADMIN_EMAILS: 'responses-admin@example.com', RATE_LIMIT_DEFAULT: '100000/minute' },
  })
  check = responseCheckFor(t.app)
}, 300_000)
afterAll(() => t?.close())

/** A client that records each request it makes (the test client itself checks every response). */
function counted(client: Client): Client {
  const request = async (method: string, path: string, init?: Parameters<Client['request']>[2]) => {
    const res = await client.request(method, path, init)
    seen.push(`${method} ${path} -> ${res.status}`)
    return res
  }
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
      const admin = counted(t.as({ sub: `resp-admin-${v}`, email: 'responses-admin@example.com', name: 'Ada Admin' }))
      const user = counted(t.as({ sub: `resp-user-${v}`, email: `resp-user-${v}@example.com`, name: 'Grace User' }))
      const anon = counted(t)
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
      for (const [path, ops] of Object.entries<Json>(check.docs[v].paths)) {
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
            const validate = check.validatorAt(v, ['paths', path, method, ...at, 'schema'])
            if (!validate(m.example))
              bad.push(`${method.toUpperCase()} ${path} ${at.join('.')}: ${JSON.stringify(validate.errors)}`)
          }
        }
      }
    }
    expect(count).toBeGreaterThan(500)
    expect(bad).toEqual([])
  })

  it('checks against the documents the app serves', async () => {
    for (const v of ['v1', 'v2'] as const) expect((await t.get(`/openapi/${v}.json`)).body).toEqual(check.docs[v])
  })

  it('leaves no success body of a shipped route undocumented (SaaS and helpdesk plugins)', async () => {
    const all = await testApp({ plugins: [...plugins, tickets] })
    try {
      const bare: string[] = []
      for (const [path, ops] of Object.entries<Json>(responseCheckFor(all.app).docs.v1.paths)) {
        for (const [method, op] of Object.entries<Json>(ops))
          if (declaresNoResponse(op)) bare.push(`${method.toUpperCase()} ${path}`)
      }
      expect(bare).toEqual([])
    } finally {
      await all.close()
    }
  }, 300_000)

  it('found no response outside the documents', () => {
    expect(seen.length).toBeGreaterThan(90)
    expect(problems).toEqual([])
  })
})

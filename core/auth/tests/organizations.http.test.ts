/**
 * The active organization (docs/auth.md#organizations): X-Organization-ID resolved once per
 * request by the one registered resolver into principal.org; unknown or foreign organizations
 * are 404, malformed ids 400; without a resolver the header changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { t as types } from 'elysia'
import { jsonDoc } from '../../openapi/index.ts'
import { definePlugin } from '../../plugin/index.ts'
import { testApp, type TestApp } from '../../testing/index.ts'
import type { OrgMembership } from '../organizations.ts'

const ORG_A = '0b5e5f2e-7d9c-4c1e-9a55-2f7c8c0e1a01'
const ORG_B = '0b5e5f2e-7d9c-4c1e-9a55-2f7c8c0e1a02'
/** user id -> organization id -> role */
const members = new Map<string, Map<string, string>>([['alice', new Map([[ORG_A, 'admin']])]])
let asked = 0

const whoami = {
  detail: {
    responses: {
      200: jsonDoc('The caller and the active organization', types.Object({ user: types.String(), org: types.Any() })),
    },
  },
}
const route = ({ router }: { router: (prefix: string) => any }) =>
  router('/org-probe').get(
    '/whoami',
    ({ principal }: { principal: { user: { id: string }; org?: OrgMembership } }) => ({
      user: principal.user.id,
      org: principal.org ?? null,
    }),
    whoami,
  )

const orgsPlugin = definePlugin({
  name: 'test-orgs',
  setup: ({ auth }) => {
    auth.setOrganizationResolver({
      membership: async (principal, orgId) => {
        asked++
        const role = members.get(principal.user.id)?.get(orgId)
        return role ? { id: orgId, role } : undefined
      },
    })
    return { routes: { app: route } }
  },
})
const plainPlugin = definePlugin({ name: 'test-plain', setup: () => ({ routes: { app: route } }) })

describe('X-Organization-ID with a resolver', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await testApp({ plugins: [orgsPlugin], env: { CORS_ORIGINS: 'http://localhost:3000' } })
  })
  afterAll(() => t?.close())
  const alice = () => t.as({ sub: 'alice', email: 'alice@example.com' })

  it('puts the membership on the principal', async () => {
    const res = await alice().get('/api/v1/app/org-probe/whoami', { headers: { 'x-organization-id': ORG_A } })
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ user: 'alice', org: { id: ORG_A, role: 'admin' } })
    const upper = await alice().get('/api/v1/app/org-probe/whoami', {
      headers: { 'x-organization-id': ORG_A.toUpperCase() },
    })
    expect(upper.body.org).toEqual({ id: ORG_A, role: 'admin' })
  })

  it('leaves the principal without an organization when the header is absent, and asks nobody', async () => {
    const before = asked
    const res = await alice().get('/api/v1/app/org-probe/whoami')
    expect(res.body).toEqual({ user: 'alice', org: null })
    expect(asked).toBe(before)
  })

  it('answers 404 for an organization the caller is not in, exactly as for one that does not exist', async () => {
    const foreign = await alice().get('/api/v1/app/org-probe/whoami', { headers: { 'x-organization-id': ORG_B } })
    const bob = await t
      .as({ sub: 'bob', email: 'bob@example.com' })
      .get('/api/v1/app/org-probe/whoami', { headers: { 'x-organization-id': ORG_A } })
    for (const res of [foreign, bob]) {
      expect(res.status).toBe(404)
      expect(res.body.error.code).toBe('NOT_FOUND')
      expect(res.body.error.details.resource).toBe('Organization')
    }
  })

  it('refuses a malformed id with 400 naming the header', async () => {
    const res = await alice().get('/api/v1/app/org-probe/whoami', { headers: { 'x-organization-id': "1' OR 1=1" } })
    expect(res.status).toBe(400)
    expect(res.body.error).toMatchObject({ code: 'BAD_REQUEST', details: { header: 'X-Organization-ID' } })
  })

  it('documents the header, its 400 and its 404 on every /app operation', async () => {
    const doc = (await t.get('/openapi/v1.json')).body
    const op = doc.paths['/api/v1/app/org-probe/whoami'].get
    expect(op.parameters).toContainEqual(expect.objectContaining({ name: 'X-Organization-ID', in: 'header' }))
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['400', '404']))
  })

  it('lets a browser send the header (CORS preflight lists it)', async () => {
    const res = await t.app.handle(
      new Request('http://localhost/api/v1/app/org-probe/whoami', {
        method: 'OPTIONS',
        headers: {
          origin: 'http://localhost:3000',
          'access-control-request-method': 'GET',
          'access-control-request-headers': 'x-organization-id',
        },
      }),
    )
    expect(res.headers.get('access-control-allow-headers') ?? '').toContain('X-Organization-ID')
  })
})

describe('X-Organization-ID without a resolver', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await testApp({ plugins: [plainPlugin] })
  })
  afterAll(() => t?.close())

  it('is ignored: nothing changes', async () => {
    const res = await t
      .as({ sub: 'alice', email: 'alice@example.com' })
      .get('/api/v1/app/org-probe/whoami', { headers: { 'x-organization-id': 'not-even-a-uuid' } })
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ user: 'alice', org: null })
  })
})

describe('a second organization resolver', () => {
  it('is refused at boot', async () => {
    const again = definePlugin({
      name: 'test-orgs-again',
      setup: ({ auth }) => {
        auth.setOrganizationResolver({ membership: () => undefined })
        return {}
      },
    })
    await expect(testApp({ plugins: [orgsPlugin, again] })).rejects.toThrow(/already registered/)
  })
})

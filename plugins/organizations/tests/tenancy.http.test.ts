/**
 * Cross-tenant isolation and the active organization (docs/plugins/organizations.md): a member of
 * A reads nothing of B by id, list or the `org:` WebSocket channel; X-Organization-ID resolves
 * through the plugin's cached resolver, and a role change or removal is seen on the next request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { definePlugin, t as types } from '../../../core/index.ts'
import websocket from '../../websocket/index.ts'
import { serveApp, WsClient, type Served } from '../../websocket/tests/helpers.ts'
import { addMember, createOrg, orgsApp, type OrgTestApp } from './support.ts'

/** A route of another plugin that shows the request's active organization. */
const whoami = definePlugin({
  name: 'org-whoami-fixture',
  setup: () => ({
    routes: {
      app: ({ router }) =>
        router('/org-whoami').get('', ({ principal }) => ({ org: principal.org ?? null }), {
          response: {
            200: types.Object({
              org: types.Union([types.Object({ id: types.String(), role: types.String() }), types.Null()]),
            }),
          },
        }),
    },
  }),
})

describe('organization isolation and X-Organization-ID', () => {
  let t: OrgTestApp
  let served: Served
  let a: string
  let b: string
  const clients: WsClient[] = []

  beforeAll(async () => {
    t = await orgsApp({ extra: [websocket, whoami] })
    served = serveApp(t.app)
    a = await createOrg(t, 'alice', 'Alpha')
    b = await createOrg(t, 'bob', 'Beta')
    await addMember(t, a, 'alice', 'amy', 'member')
    await addMember(t, b, 'bob', 'ben', 'admin')
  })
  afterAll(async () => {
    for (const c of clients) c.close()
    await served.server.shutdown()
    await t.close()
  })

  it('a member of A reads nothing of B: by id, members, invitations, lists', async () => {
    for (const user of ['alice', 'amy']) {
      const c = t.as(user)
      for (const path of ['', '/members', '/invitations']) {
        const res = await c.get(`/api/v1/app/orgs/${b}${path}`)
        expect([user, path, res.status]).toEqual([user, path, 404])
        expect(res.body.error.code).toBe('NOT_FOUND')
      }
      for (const [method, path, body] of [
        ['PATCH', '', { name: 'x' }],
        ['DELETE', '', undefined],
        ['POST', '/leave', undefined],
        ['POST', '/transfer', { user_id: user }],
        ['PATCH', '/members/bob', { role: 'member' }],
        ['DELETE', '/members/ben', undefined],
        ['POST', '/invitations', { email: 'x@example.com', role: 'member' }],
      ] as const) {
        const res = await c.request(method, `/api/v1/app/orgs/${b}${path}`, { body })
        expect([user, method, path, res.status]).toEqual([user, method, path, 404])
      }
      const mine = await c.get('/api/v1/app/orgs')
      expect(mine.body.items.map((o: { id: string }) => o.id)).toEqual([a])
    }
    const [inv] = await t.app.db.sql<{ id: string }[]>`select id from org_invitations where org_id = ${b} limit 1`
    expect((await t.as('alice').delete(`/api/v1/app/orgs/${a}/invitations/${inv!.id}`)).status).toBe(404)
    // B is untouched.
    expect((await t.as('bob').get(`/api/v1/app/orgs/${b}`)).body.name).toBe('Beta')
    expect((await t.as('bob').get(`/api/v1/app/orgs/${b}/members`)).body.total).toBe(2)
  })

  it('the org: channel is for members only, and carries the changes', async () => {
    const { client: amy } = await WsClient.open(served.url(await t.token('amy')))
    const { client: alice } = await WsClient.open(served.url(await t.token('alice')))
    clients.push(amy, alice)
    expect((await amy.subscribe(`org:${b}`)).type).toBe('error')
    expect((await amy.subscribe(`org:${a}`)).type).toBe('subscribed')
    const res = await t.as('alice').patch(`/api/v1/app/orgs/${a}/members/amy`, { role: 'billing' })
    expect(res.status).toBe(200)
    const frame = await amy.next((f) => f.channel === `org:${a}` && f.type === 'org.role_changed')
    expect(frame.data).toEqual({ org_id: a, user_id: 'amy', role: 'billing', previous_role: 'member' })
    // Nothing of B reaches a member of A.
    await t.as('bob').patch(`/api/v1/app/orgs/${b}`, { name: 'Beta 2' })
    expect(amy.frames.some((f) => f.channel === `org:${b}`)).toBe(false)
    // Removed, amy leaves the channel at once; alice stays and sees the removal.
    expect((await alice.subscribe(`org:${a}`)).type).toBe('subscribed')
    expect((await t.as('alice').delete(`/api/v1/app/orgs/${a}/members/amy`)).status).toBe(204)
    const removed = await alice.next((f) => f.channel === `org:${a}` && f.type === 'org.member_removed')
    expect(removed.data).toEqual({ org_id: a, user_id: 'amy' })
    expect((await amy.next((f) => f.channel === `org:${a}` && f.type === 'unsubscribed')).type).toBe('unsubscribed')
    expect((await amy.subscribe(`org:${a}`)).type).toBe('error')
  })

  /** A key of `org` made by its `owner`, and a socket opened with it. */
  const keySocket = async (owner: string, org: string, name: string) => {
    const keys = `/api/v1/app/orgs/${org}/api-keys`
    const created = await t.as(owner).post(keys, { name, scopes: ['projects:read'] })
    expect(created.status).toBe(201)
    const { client } = await WsClient.open(served.url(created.body.key))
    clients.push(client)
    return { keys, id: created.body.id as string, client }
  }

  it("an organization's own key joins its org: channel, no other, and its socket closes on revocation", async () => {
    const { keys, id, client: bot } = await keySocket('alice', a, 'dashboard')
    expect((await bot.subscribe(`org:${a}`)).type).toBe('subscribed')
    expect((await bot.subscribe(`org:${b}`)).type).toBe('error')
    await t.as('alice').patch(`/api/v1/app/orgs/${a}`, { name: 'Alpha 2' })
    expect((await bot.next((f) => f.channel === `org:${a}` && f.type === 'org.updated')).data).toMatchObject({
      org_id: a,
    })
    expect((await t.as('alice').delete(`${keys}/${id}`)).status).toBe(204)
    expect((await bot.closed).code).toBe(1008)
  })

  it('deleting an organization revokes its keys and closes the sockets opened with them', async () => {
    const org = await createOrg(t, 'dora', 'Delta')
    const { id, client: kiosk } = await keySocket('dora', org, 'kiosk')
    expect((await kiosk.subscribe(`org:${org}`)).type).toBe('subscribed')
    expect((await t.as('dora').delete(`/api/v1/app/orgs/${org}`)).status).toBe(204)
    expect((await kiosk.closed).code).toBe(1008)
    const [row] = await t.app.db.sql<{ revoked: boolean }[]>`
      select revoked_at is not null as revoked from org_api_keys where id = ${id}`
    expect(row!.revoked).toBe(true)
  })

  it('X-Organization-ID: a member gets the org and role; a non-member 404; a malformed id 400', async () => {
    const h = (id: string) => ({ headers: { 'x-organization-id': id } })
    const ok = await t.as('alice').get('/api/v1/app/org-whoami', h(a))
    expect(ok.status).toBe(200)
    expect(ok.body.org).toEqual({ id: a, role: 'owner' })
    expect((await t.as('alice').get('/api/v1/app/org-whoami', h(b))).status).toBe(404)
    expect((await t.as('alice').get('/api/v1/app/org-whoami', h('not-a-uuid'))).status).toBe(400)
    expect((await t.as('alice').get('/api/v1/app/org-whoami')).body.org).toBeNull()
  })

  it('the cached membership follows a role change, a removal and a deletion at once', async () => {
    const org = await createOrg(t, 'carl', 'Gamma')
    await addMember(t, org, 'carl', 'cody', 'member')
    const h = { headers: { 'x-organization-id': org } }
    expect((await t.as('cody').get('/api/v1/app/org-whoami', h)).body.org.role).toBe('member')
    await t.as('carl').patch(`/api/v1/app/orgs/${org}/members/cody`, { role: 'admin' })
    expect((await t.as('cody').get('/api/v1/app/org-whoami', h)).body.org.role).toBe('admin')
    await t.as('carl').delete(`/api/v1/app/orgs/${org}/members/cody`)
    expect((await t.as('cody').get('/api/v1/app/org-whoami', h)).status).toBe(404)
    expect((await t.as('carl').get('/api/v1/app/org-whoami', h)).body.org.role).toBe('owner')
    await t.as('carl').delete(`/api/v1/app/orgs/${org}`)
    expect((await t.as('carl').get('/api/v1/app/org-whoami', h)).status).toBe(404)
  })
})

/**
 * Two replicas on one database and one Redis (TEST_REDIS_URL): a role change or a removal made on
 * one replica is enforced on the other within a second, though the other had the membership
 * cached (docs/plugins/organizations.md#the-x-organization-id-header).
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import email from '../../email/index.ts'
import users from '../../users/index.ts'
import { startReplicas, until, type Replicas } from '../../websocket/tests/helpers.ts'
import { createOrganizationsPlugin } from '../index.ts'

const url = process.env.TEST_REDIS_URL
// Other test processes may share this Redis: every user id of this run is unique.
const run = crypto.randomUUID().slice(0, 8)
const u = (name: string) => `${name}-${run}`

describe.skipIf(!url)('organizations across two replicas sharing Redis', () => {
  let r: Replicas
  const call = async (replica: number, user: string, method: string, path: string, body?: unknown, org?: string) => {
    const headers: Record<string, string> = { authorization: `Bearer ${await r.token(user)}` }
    if (body !== undefined) headers['content-type'] = 'application/json'
    if (org) headers['x-organization-id'] = org
    const res = await r.apps[replica]!.app.handle(
      new Request(`http://localhost/api/v1/app${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
    )
    return { status: res.status, body: (await res.json().catch(() => null)) as any }
  }

  beforeAll(async () => {
    // A long TTL: only the broadcast invalidation can explain a change seen on the other replica.
    const plugin = createOrganizationsPlugin({ membershipCacheTtlMs: 3_600_000 })
    r = await startReplicas(2, { plugins: [users, email, plugin], env: { REDIS_URL: url! } })
  }, 30_000)
  afterAll(() => r?.close())

  it('a role change and a removal on replica A are enforced on replica B within a second', async () => {
    const owner = u('owner')
    const member = u('member')
    const created = await call(0, owner, 'POST', '/orgs', { name: 'Replicated' })
    expect(created.status).toBe(201)
    const org = created.body.id as string
    await call(0, member, 'GET', '/orgs')
    // Made a member directly (the invitation flow has its own tests); then B caches the membership.
    await r.apps[0]!.app.db
      .sql`insert into org_memberships (org_id, user_id, role) values (${org}, ${member}, 'member')`
    // Invitations are admin+: a member is refused on B, and B now holds the membership in its cache.
    expect((await call(1, member, 'GET', `/orgs/${org}/invitations`)).status).toBe(403)
    expect((await call(1, member, 'GET', '/users/me', undefined, org)).status).toBe(200)

    expect((await call(0, owner, 'PATCH', `/orgs/${org}/members/${member}`, { role: 'admin' })).status).toBe(200)
    const changedAt = Date.now()
    await until(
      async () => (await call(1, member, 'GET', `/orgs/${org}/invitations`)).status === 200,
      1000,
      'admin on B',
    )
    expect(Date.now() - changedAt).toBeLessThan(1000)

    expect((await call(0, owner, 'DELETE', `/orgs/${org}/members/${member}`)).status).toBe(204)
    await until(
      async () => (await call(1, member, 'GET', '/users/me', undefined, org)).status === 404,
      1000,
      'removal on B',
    )
    expect((await call(1, member, 'GET', `/orgs/${org}`)).status).toBe(404)
  })
})

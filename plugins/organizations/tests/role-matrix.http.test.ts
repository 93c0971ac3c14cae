/**
 * The role matrix over every route of the plugin (docs/plugins/organizations.md#roles): each
 * /app/orgs* and /app/invitations* route, read from the mounted routes and checked against
 * /openapi.json (a route without a row fails), for an owner, an admin, a member, a billing member,
 * a non-member, the organization's own API key in each key role and another organization's key;
 * the exact status and code of each, and a refusal changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { createOrg, invitationEmail, orgsApp, type OrgTestApp } from './support.ts'

const ACTORS = [
  'owner',
  'admin',
  'member',
  'billing',
  'stranger',
  'key:admin',
  'key:member',
  'key:billing',
  'other-key',
] as const
type Actor = (typeof ACTORS)[number]
type Person = 'owner' | 'admin' | 'member' | 'billing' | 'stranger'

interface Team {
  n: number
  org: string
  users: Record<Person, string>
  keys: Record<'key:admin' | 'key:member' | 'key:billing', string>
  /** What a row prepared once for this team (an invitation token). */
  memo: Map<string, Promise<string>>
}

interface Row {
  /** The path (after /api/v1/app) and body this cell sends, prepared on `team`. */
  request(team: Team, actor: Actor): Promise<{ path: string; body?: unknown }> | { path: string; body?: unknown }
  /** Expected status per actor, in the order of ACTORS. */
  want: number[]
  /** The successes change nothing of the team: one team serves every cell. */
  shared?: boolean
}

const CODES: Record<number, string> = { 403: 'AUTHORIZATION_ERROR', 404: 'NOT_FOUND', 409: 'CONFLICT' }
const V1 = '/api/v1/app'

describe('organizations: the role matrix over every route', () => {
  let t: OrgTestApp
  let otherKey: string
  let n = 0

  /** A key of `org` with `role`, made by its owner through the API. */
  const makeKey = async (org: string, owner: string, role: string) => {
    const res = await t
      .as(owner)
      .post(`${V1}/orgs/${org}/api-keys`, { name: `matrix ${role}`, scopes: ['orgs:read', 'orgs:write'], role })
    if (res.status !== 201) throw new Error(`key: ${res.status} ${res.text}`)
    return res.body as { id: string; key: string }
  }

  /** A fresh organization with one member of each role and a key of each key role. */
  async function team(): Promise<Team> {
    n++
    const users = {
      owner: `mx${n}-owner`,
      admin: `mx${n}-admin`,
      member: `mx${n}-member`,
      billing: `mx${n}-billing`,
      stranger: `mx${n}-stranger`,
    }
    const org = await createOrg(t, users.owner, `Matrix ${n}`)
    const sql = t.app.db.sql
    const people = (['admin', 'member', 'billing', 'stranger'] as const).map((p) => ({
      id: users[p],
      email: `${users[p]}@example.com`,
      full_name: users[p],
    }))
    // The members join directly: the invitation flow has its own tests (invitations.http.test.ts).
    await sql`insert into users ${sql(people)} on conflict (id) do nothing`
    const joins = (['admin', 'member', 'billing'] as const).map((role) => ({ org_id: org, user_id: users[role], role }))
    await sql`insert into org_memberships ${sql(joins)}`
    const keys = {
      'key:admin': (await makeKey(org, users.owner, 'admin')).key,
      'key:member': (await makeKey(org, users.owner, 'member')).key,
      'key:billing': (await makeKey(org, users.owner, 'billing')).key,
    }
    return { n, org, users, keys, memo: new Map() }
  }

  const once = (team: Team, what: string, make: () => Promise<string>) => {
    let v = team.memo.get(what)
    if (!v) team.memo.set(what, (v = make()))
    return v
  }

  /** A pending invitation of the team's non-member, made by the owner: its emailed token. */
  const invitationToken = (team: Team) =>
    once(team, 'token', async () => {
      const email = `${team.users.stranger}@example.com`
      const res = await t.as(team.users.owner).post(`${V1}/orgs/${team.org}/invitations`, { email, role: 'member' })
      if (res.status !== 201) throw new Error(`invite: ${res.status} ${res.text}`)
      return (await invitationEmail(t, email))!.token
    })

  const call = (team: Team, actor: Actor, method: string, path: string, body?: unknown) => {
    const key =
      actor === 'other-key' ? otherKey : actor.startsWith('key:') ? team.keys[actor as 'key:admin'] : undefined
    const client = key ? t : t.as(team.users[actor as Person])
    return client.request(method, `${V1}${path}`, {
      body,
      headers: key ? { authorization: `Bearer ${key}` } : {},
    })
  }

  /** What a refusal must leave as it was: the organization, its members, invitations and keys. */
  const snapshot = async (team: Team) => {
    const sql = t.app.db.sql
    return {
      org: await sql`select name, slug, deleted_at from organizations where id = ${team.org}`,
      members: await sql`select user_id, role from org_memberships where org_id = ${team.org} order by user_id`,
      invitations: await sql`select id, accepted_at, declined_at, revoked_at from org_invitations
        where org_id = ${team.org} order by id`,
      keys: await sql`select id, revoked_at from org_api_keys where org_id = ${team.org} order by id`,
      orgs: await sql`select count(*)::int as n from organizations where created_by like ${'org:%'}`,
    }
  }

  // want:           owner admin member billing stranger key:admin key:member key:billing other-key
  const rows: Record<string, Row> = {
    'POST /orgs': {
      request: (team, actor) => ({ path: '/orgs', body: { name: `Made by ${actor} ${team.n}` } }),
      want: [201, 201, 201, 201, 201, 403, 403, 403, 403],
      shared: true,
    },
    'GET /orgs': {
      request: () => ({ path: '/orgs' }),
      want: [200, 200, 200, 200, 200, 200, 200, 200, 200],
      shared: true,
    },
    'GET /orgs/:org_id': {
      request: (team) => ({ path: `/orgs/${team.org}` }),
      want: [200, 200, 200, 200, 404, 200, 200, 200, 404],
      shared: true,
    },
    'PATCH /orgs/:org_id': {
      request: (team) => ({ path: `/orgs/${team.org}`, body: { name: 'Renamed' } }),
      want: [200, 200, 403, 403, 404, 200, 403, 403, 404],
    },
    'DELETE /orgs/:org_id': {
      request: (team) => ({ path: `/orgs/${team.org}` }),
      want: [204, 403, 403, 403, 404, 403, 403, 403, 404],
    },
    'GET /orgs/:org_id/members': {
      request: (team) => ({ path: `/orgs/${team.org}/members` }),
      want: [200, 200, 200, 200, 404, 200, 200, 200, 404],
      shared: true,
    },
    'PATCH /orgs/:org_id/members/:user_id': {
      request: (team) => ({ path: `/orgs/${team.org}/members/${team.users.member}`, body: { role: 'billing' } }),
      want: [200, 200, 403, 403, 404, 200, 403, 403, 404],
    },
    'DELETE /orgs/:org_id/members/:user_id': {
      request: (team) => ({ path: `/orgs/${team.org}/members/${team.users.member}` }),
      want: [204, 204, 403, 403, 404, 204, 403, 403, 404],
    },
    // The only owner may not leave (409 last_owner); a key is no member and cannot leave (403).
    'POST /orgs/:org_id/leave': {
      request: (team) => ({ path: `/orgs/${team.org}/leave` }),
      want: [409, 204, 204, 204, 404, 403, 403, 403, 404],
    },
    'POST /orgs/:org_id/transfer': {
      request: (team) => ({ path: `/orgs/${team.org}/transfer`, body: { user_id: team.users.member } }),
      want: [200, 403, 403, 403, 404, 403, 403, 403, 404],
    },
    'POST /orgs/:org_id/invitations': {
      request: (team, actor) => ({
        path: `/orgs/${team.org}/invitations`,
        body: { email: `${actor.replace(':', '-')}-${team.n}@example.com`, role: 'member' },
      }),
      want: [201, 201, 403, 403, 404, 201, 403, 403, 404],
    },
    'GET /orgs/:org_id/invitations': {
      request: (team) => ({ path: `/orgs/${team.org}/invitations` }),
      want: [200, 200, 403, 403, 404, 200, 403, 403, 404],
      shared: true,
    },
    'DELETE /orgs/:org_id/invitations/:invitation_id': {
      request: async (team) => {
        await invitationToken(team)
        const [inv] = await t.app.db.sql<{ id: string }[]>`
          select id from org_invitations where org_id = ${team.org} and revoked_at is null limit 1`
        return { path: `/orgs/${team.org}/invitations/${inv!.id}` }
      },
      want: [204, 204, 403, 403, 404, 204, 403, 403, 404],
    },
    // Keys are managed from a person's session: every key gets 403 here, another org's 404.
    'GET /orgs/:org_id/api-keys': {
      request: (team) => ({ path: `/orgs/${team.org}/api-keys` }),
      want: [200, 200, 403, 403, 404, 403, 403, 403, 404],
      shared: true,
    },
    'POST /orgs/:org_id/api-keys': {
      request: (team) => ({ path: `/orgs/${team.org}/api-keys`, body: { name: 'new', scopes: ['orgs:read'] } }),
      want: [201, 201, 403, 403, 404, 403, 403, 403, 404],
    },
    'DELETE /orgs/:org_id/api-keys/:key_id': {
      request: async (team) => {
        const id = await once(team, 'key', async () => (await makeKey(team.org, team.users.owner, 'member')).id)
        return { path: `/orgs/${team.org}/api-keys/${id}` }
      },
      want: [204, 204, 403, 403, 404, 403, 403, 403, 404],
    },
    // The invitation is addressed to the non-member: only they answer it (another address is 403).
    'POST /invitations/:token/accept': {
      request: async (team) => ({ path: `/invitations/${await invitationToken(team)}/accept` }),
      want: [403, 403, 403, 403, 200, 403, 403, 403, 403],
    },
    'POST /invitations/:token/decline': {
      request: async (team) => ({ path: `/invitations/${await invitationToken(team)}/decline` }),
      want: [403, 403, 403, 403, 204, 403, 403, 403, 403],
    },
  }

  beforeAll(async () => {
    t = await orgsApp()
    const elsewhere = await createOrg(t, 'mx-elsewhere', 'Elsewhere')
    otherKey = (await makeKey(elsewhere, 'mx-elsewhere', 'admin')).key
  })
  afterAll(() => t?.close())

  it('has a row for every route of the plugin, and each is in /openapi.json with its tag', async () => {
    const mounted = t.app.elysia.routes
      .filter((r) => /^\/api\/v1\/app\/(orgs|invitations)(\/|$)/.test(r.path) && r.method !== 'WS')
      .map((r) => `${r.method.toUpperCase()} ${r.path.slice(V1.length)}`)
    const spec = (await t.get('/openapi.json')).body
    const documented: string[] = []
    for (const [path, ops] of Object.entries<Record<string, { tags?: string[] }>>(spec.paths)) {
      if (!path.startsWith(`${V1}/`)) continue
      for (const [method, op] of Object.entries(ops))
        if (op?.tags?.includes('Organizations'))
          documented.push(`${method.toUpperCase()} ${path.slice(V1.length).replace(/\{(\w+)\}/g, ':$1')}`)
    }
    const keys = Object.keys(rows).sort()
    expect([...new Set(mounted)].sort()).toEqual(keys)
    expect([...new Set(documented)].sort()).toEqual(keys)
  })

  for (const [route, row] of Object.entries(rows)) {
    it(`${route}: ${row.want.join(' ')}`, async () => {
      const [method, template] = route.split(' ') as [string, string]
      const wrong: string[] = []
      const check = async (team: Team, actor: Actor, want: number) => {
        const { path, body } = await row.request(team, actor)
        const res = await call(team, actor, method, path, body)
        const code = res.body?.error?.code
        if (res.status !== want || (CODES[want] && code !== CODES[want]))
          wrong.push(`${actor}: ${res.status} ${code ?? ''}, want ${want} ${CODES[want] ?? ''} (${template})`)
      }
      // Refusals share one team, which they must leave unchanged; each success gets its own.
      const shared = await team()
      await row.request(shared, 'owner') // what the row prepares once (an invitation, a key) exists before
      const before = await snapshot(shared)
      for (const [i, actor] of ACTORS.entries()) {
        const want = row.want[i]!
        if (row.shared || want >= 300) await check(shared, actor, want)
      }
      expect(await snapshot(shared)).toEqual(before)
      for (const [i, actor] of ACTORS.entries()) {
        const want = row.want[i]!
        if (!row.shared && want < 300) await check(await team(), actor, want)
      }
      expect(wrong).toEqual([])
    }, 60_000)
  }

  it("an organization key lists its own organization with the key's role, and founds none", async () => {
    const team0 = await team()
    const list = await call(team0, 'key:billing', 'GET', '/orgs')
    expect(list.body).toMatchObject({ total: 1, skip: 0, items: [{ id: team0.org, role: 'billing' }] })
    expect((await call(team0, 'key:billing', 'GET', '/orgs?skip=1')).body).toMatchObject({ total: 1, items: [] })
    const made = await call(team0, 'key:admin', 'POST', '/orgs', { name: 'By a key' })
    expect(made.status).toBe(403)
    expect(made.body.error.details).toEqual({ required: 'session' })
    const serviceOwned = await t.app.db.sql`select 1 from org_memberships where user_id like ${'org:%'}`
    expect(serviceOwned).toHaveLength(0)
  })
})

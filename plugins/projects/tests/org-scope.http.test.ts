/**
 * Organization-scoped projects (docs/plugins/projects.md#organizations): cross-tenant isolation
 * by id, list and search; a non-member naming an organization gets 404; members read, owners,
 * admins and the creator write, the billing role reads only; personal projects stay private;
 * a deleted organization's projects go with it; without the organizations plugin nothing changes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { testApp, type TestApp } from '../../../core/testing/index.ts'
import { addMember, createOrg, orgsApp, type OrgTestApp } from '../../organizations/tests/support.ts'
import websocket from '../../websocket/index.ts'
import { serveApp, WsClient } from '../../websocket/tests/helpers.ts'
import projects from '../index.ts'

const base = '/api/v1/app/projects'
const inOrg = (org: string) => ({ headers: { 'X-Organization-ID': org } })

describe('projects in organizations', () => {
  let t: OrgTestApp
  let orgA: string
  let orgB: string
  let pa: any // created by member `amem` in A
  let pb: any // created by `bown` in B

  beforeAll(async () => {
    t = await orgsApp({ extra: [websocket, projects] })
    orgA = await createOrg(t, 'aown', 'Acme')
    for (const [user, role] of [
      ['aadm', 'admin'],
      ['amem', 'member'],
      ['amem2', 'member'],
      ['abil', 'billing'],
    ] as const)
      await addMember(t, orgA, 'aown', user, role)
    orgB = await createOrg(t, 'bown', 'Bolt')
    pa = (await t.as('amem').post(base, { name: 'Apollo launch' }, inOrg(orgA))).body
    pb = (await t.as('bown').post(base, { name: 'Apollo secret' }, inOrg(orgB))).body
  })
  afterAll(() => t?.close())

  it('creates a project in the active organization, naming it in org_id', async () => {
    expect(pa).toMatchObject({ name: 'Apollo launch', owner_id: 'amem', org_id: orgA })
    expect(pb.org_id).toBe(orgB)
  })

  it('shows a member only the active organization: list, search and by id; another organization is 404', async () => {
    const list = await t.as('amem2').get(base, inOrg(orgA))
    expect(list.status).toBe(200)
    expect(list.body.items.map((p: any) => p.id)).toEqual([pa.id])
    const search = await t.as('amem2').get(`${base}?search=apollo`, inOrg(orgA))
    expect(search.body.items.map((p: any) => p.id)).toEqual([pa.id])
    expect((await t.as('amem2').get(`${base}/${pa.id}`, inOrg(orgA))).body).toEqual(pa)

    for (const who of ['amem', 'aown', 'aadm']) {
      const byId = await t.as(who).get(`${base}/${pb.id}`, inOrg(orgA))
      expect(byId.status).toBe(404)
      expect(byId.body.error.code).toBe('NOT_FOUND')
      expect((await t.as(who).patch(`${base}/${pb.id}`, { name: 'x' }, inOrg(orgA))).status).toBe(404)
      expect((await t.as(who).delete(`${base}/${pb.id}`, inOrg(orgA))).status).toBe(404)
    }
    const v2 = await t.as('amem').get('/api/v2/app/projects?search=secret', inOrg(orgA))
    expect(v2.body.data).toEqual([])
    expect(v2.body.meta.pagination.total).toBe(0)
  })

  it('answers 404 to a non-member naming an organization, before any project is read', async () => {
    const named = await t.as('amem').get(`${base}/${pb.id}`, inOrg(orgB))
    expect(named.status).toBe(404)
    expect(named.body.error.code).toBe('NOT_FOUND')
    expect((await t.as('amem').get(base, inOrg(orgB))).status).toBe(404)
    expect((await t.as('amem').post(base, { name: 'Intruder' }, inOrg(orgB))).status).toBe(404)
    const malformed = await t.as('amem').get(base, inOrg('not-a-uuid'))
    expect(malformed.status).toBe(400)
  })

  it('keeps personal projects private: not in the organization, and org projects not in the personal list', async () => {
    const mine = (await t.as('amem').post(base, { name: 'Apollo diary' })).body
    expect(mine.org_id).toBeUndefined()
    const orgList = await t.as('aown').get(`${base}?search=apollo`, inOrg(orgA))
    expect(orgList.body.items.map((p: any) => p.id)).toEqual([pa.id])
    expect((await t.as('aown').get(`${base}/${mine.id}`, inOrg(orgA))).status).toBe(404)
    // The creator's own org project is not theirs personally: without the header it is 404 too.
    expect((await t.as('amem').get(`${base}/${pa.id}`)).status).toBe(404)
    const personal = await t.as('amem').get(base)
    expect(personal.body.items.map((p: any) => p.id)).toEqual([mine.id])
    // Named in the organization, the personal project is 404 even to its owner.
    expect((await t.as('amem').get(`${base}/${mine.id}`, inOrg(orgA))).status).toBe(404)
  })

  it('lets members read, the creator and admins write; another member gets 403', async () => {
    const p = (await t.as('amem').post(base, { name: 'Rules' }, inOrg(orgA))).body
    const other = await t.as('amem2').patch(`${base}/${p.id}`, { name: 'Taken over' }, inOrg(orgA))
    expect(other.status).toBe(403)
    expect(other.body.error.code).toBe('AUTHORIZATION_ERROR')
    expect((await t.as('amem2').patch(`${base}/${p.id}`, {}, inOrg(orgA))).status).toBe(403)
    expect((await t.as('amem2').delete(`${base}/${p.id}`, inOrg(orgA))).status).toBe(403)
    expect((await t.as('amem2').get(`${base}/${p.id}`, inOrg(orgA))).body.name).toBe('Rules')

    const own = await t.as('amem').patch(`${base}/${p.id}`, { name: 'Rules v2' }, inOrg(orgA))
    expect(own.status).toBe(200)
    const admin = await t.as('aadm').patch(`${base}/${p.id}`, { description: 'by admin' }, inOrg(orgA))
    expect(admin.body).toMatchObject({ name: 'Rules v2', description: 'by admin', owner_id: 'amem', org_id: orgA })
    expect((await t.as('aown').patch(`${base}/${p.id}`, { name: 'Rules v3' }, inOrg(orgA))).status).toBe(200)
    expect((await t.as('aadm').delete(`${base}/${p.id}`, inOrg(orgA))).status).toBe(204)
    expect((await t.as('amem').get(`${base}/${p.id}`, inOrg(orgA))).status).toBe(404)
  })

  it('lets the billing role read but not create or change', async () => {
    expect((await t.as('abil').get(`${base}/${pa.id}`, inOrg(orgA))).status).toBe(200)
    const created = await t.as('abil').post(base, { name: 'Invoice tracker' }, inOrg(orgA))
    expect(created.status).toBe(403)
    expect(created.body.error.code).toBe('AUTHORIZATION_ERROR')
    expect((await t.as('abil').patch(`${base}/${pa.id}`, { name: 'x' }, inOrg(orgA))).status).toBe(403)
    // Personally the billing member is an ordinary user.
    expect((await t.as('abil').post(base, { name: 'Mine' })).status).toBe(201)
  })

  it('soft-deletes the projects of a deleted organization, and only those', async () => {
    const orgC = await createOrg(t, 'cown', 'Gone')
    const pc = (await t.as('cown').post(base, { name: 'Doomed' }, inOrg(orgC))).body
    const keep = (await t.as('cown').post(base, { name: 'Personal keep' })).body
    const deleted: any[] = []
    t.app.events.subscribe('project.deleted', (p) => void deleted.push(p))
    expect((await t.as('cown').delete(`/api/v1/app/orgs/${orgC}`)).status).toBe(204)
    // A durable subscriber's job, committed with the deletion (docs/jobs-and-events.md#durable-events).
    const [job] = await t.app.db.sql<{ payload: unknown }[]>`
      select payload from jobs where name = 'projects.remove-organization' and payload->>'org_id' = ${orgC}`
    expect(job?.payload).toEqual({ org_id: orgC, id: orgC })
    for (let i = 0; i < 100 && deleted.length === 0; i++) {
      await t.app.jobs.runDue()
      await new Promise((r) => setTimeout(r, 10))
    }
    expect(deleted).toEqual([{ id: pc.id, owner_id: 'cown', org_id: orgC }])
    const rows = await t.app.db.sql<{ id: string; deleted: boolean }[]>`
      select id, deleted_at is not null as deleted from projects where id in (${pc.id}, ${keep.id}, ${pb.id})`
    const byId = Object.fromEntries(rows.map((r) => [r.id, r.deleted]))
    expect(byId).toEqual({ [pc.id]: true, [keep.id]: false, [pb.id]: false })
  })

  it("confines an organization's API key to its organization: it acts as the org, never reaches another", async () => {
    const made = await t.as('aown').post(`/api/v1/app/orgs/${orgA}/api-keys`, {
      name: 'ci',
      scopes: ['projects:read', 'projects:write'],
    })
    expect(made.status).toBe(201)
    const key = { headers: { authorization: `Bearer ${made.body.key}` } }
    const list = await t.get(`${base}?search=apollo`, key)
    expect(list.status).toBe(200)
    expect(list.body.items.map((p: any) => p.id)).toEqual([pa.id])
    expect((await t.get(`${base}/${pb.id}`, key)).status).toBe(404)
    const named = await t.get(`${base}/${pb.id}`, { headers: { ...key.headers, 'X-Organization-ID': orgB } })
    expect(named.status).toBe(404)
    const created = await t.post(base, { name: 'By key' }, key)
    expect(created.body).toMatchObject({ org_id: orgA, owner_id: `org:${orgA}` })
    // A member-role key changes only what it created.
    expect((await t.patch(`${base}/${pa.id}`, { name: 'x' }, key)).status).toBe(403)
    expect((await t.patch(`${base}/${created.body.id}`, { name: 'By key 2' }, key)).status).toBe(200)
  })

  it('lets project:<id> be joined by a socket acting in its organization (an org API key), not by a personal one', async () => {
    const served = serveApp(t.app)
    const opened: WsClient[] = []
    try {
      const member = await WsClient.open(served.url(await t.token('amem2')))
      opened.push(member.client)
      // Without the organization active, its project is not the caller's.
      expect(await member.client.subscribe(`project:${pa.id}`)).toMatchObject({ type: 'error', code: 'FORBIDDEN' })
      const made = await t
        .as('aown')
        .post(`/api/v1/app/orgs/${orgA}/api-keys`, { name: 'ws', scopes: ['projects:read'] })
      const asOrg = await WsClient.open(served.url(made.body.key))
      opened.push(asOrg.client)
      expect(await asOrg.client.subscribe(`project:${pa.id}`)).toMatchObject({ type: 'subscribed' })
      expect(await asOrg.client.subscribe(`project:${pb.id}`)).toMatchObject({ type: 'error', code: 'FORBIDDEN' })
    } finally {
      for (const c of opened) c.close()
      await served.server.shutdown()
    }
  })

  it('serves the organization list from its index', async () => {
    const sql = t.app.db.sql
    await sql`set enable_seqscan = off`
    try {
      const plan = await sql<{ 'QUERY PLAN': string }[]>`explain select id from projects
        where org_id = ${orgA} and deleted_at is null order by created_at desc, id desc limit 21`
      expect(plan.map((r) => r['QUERY PLAN']).join('\n')).toContain('projects_org_created_idx')
    } finally {
      await sql`reset enable_seqscan`
    }
  })
})

describe('projects without the organizations plugin', () => {
  let plain: TestApp
  beforeAll(async () => {
    plain = await testApp({ plugins: [projects] })
  })
  afterAll(() => plain?.close())

  it('ignores X-Organization-ID: the project is personal and reads exactly as before', async () => {
    const header = inOrg('6f1c2a4e-8b7d-4c3e-9a1f-2d5e6b7c8a90')
    const created = await plain.as('solo').post(base, { name: 'Solo' }, header)
    expect(created.status).toBe(201)
    expect(Object.keys(created.body).sort()).toEqual([
      'created_at',
      'description',
      'id',
      'name',
      'owner_id',
      'updated_at',
    ])
    expect((await plain.as('solo').get(`${base}/${created.body.id}`, inOrg('not-a-uuid'))).status).toBe(200)
    expect((await plain.as('solo').get(base)).body.items.map((p: any) => p.id)).toEqual([created.body.id])
    expect((await plain.as('other').get(`${base}/${created.body.id}`, header)).status).toBe(404)
  })
})

/**
 * The role matrix (docs/plugins/organizations.md#roles): every route of an organization for an
 * owner, an admin, a member, a billing member and a non-member (404, never 403); last-owner
 * protection; transfer of ownership.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { addMember, createOrg, orgsApp, type OrgTestApp } from './support.ts'

type Who = 'owner' | 'admin' | 'member' | 'billing' | 'stranger'

describe('organization roles', () => {
  let t: OrgTestApp
  const base = '/api/v1/app/orgs'

  /** A fresh organization with one member of each role; names are unique per call. */
  let n = 0
  async function team() {
    n++
    const who: Record<Who, string> = {
      owner: `owner${n}`,
      admin: `admin${n}`,
      member: `member${n}`,
      billing: `billing${n}`,
      stranger: `stranger${n}`,
    }
    const org = await createOrg(t, who.owner)
    for (const role of ['admin', 'member', 'billing'] as const) await addMember(t, org, who.owner, who[role], role)
    await t.as(who.stranger).get('/api/v1/app/orgs') // the stranger's user row exists
    return { org, who }
  }

  beforeAll(async () => {
    t = await orgsApp()
  })
  afterAll(() => t.close())

  it('reads: every member reads the organization and its members; admins+ its invitations; a stranger gets 404', async () => {
    const { org, who } = await team()
    const expected: Record<Who, [number, number, number]> = {
      owner: [200, 200, 200],
      admin: [200, 200, 200],
      member: [200, 200, 403],
      billing: [200, 200, 403],
      stranger: [404, 404, 404],
    }
    for (const [role, [get, members, invitations]] of Object.entries(expected) as [Who, [number, number, number]][]) {
      const c = t.as(who[role])
      expect([role, (await c.get(`${base}/${org}`)).status] as unknown[]).toEqual([role, get])
      expect([role, (await c.get(`${base}/${org}/members`)).status] as unknown[]).toEqual([role, members])
      expect([role, (await c.get(`${base}/${org}/invitations`)).status] as unknown[]).toEqual([role, invitations])
    }
    const members = await t.as(who.member).get(`${base}/${org}/members`)
    expect(members.body.total).toBe(4)
    expect(members.body.items.find((m: { user_id: string }) => m.user_id === who.billing).role).toBe('billing')
    const mine = await t.as(who.billing).get(base)
    expect(mine.body.items).toEqual([expect.objectContaining({ id: org, role: 'billing' })])
  })

  it('writes: patch and invitations for owner and admin, delete for the owner only; others 403, strangers 404', async () => {
    const { org, who } = await team()
    for (const role of ['stranger', 'member', 'billing'] as const) {
      const status = role === 'stranger' ? 404 : 403
      const c = t.as(who[role])
      expect((await c.patch(`${base}/${org}`, { name: 'x' })).status).toBe(status)
      expect((await c.post(`${base}/${org}/invitations`, { email: 'x@example.com', role: 'member' })).status).toBe(
        status,
      )
      expect((await c.patch(`${base}/${org}/members/${who.member}`, { role: 'admin' })).status).toBe(status)
      expect((await c.delete(`${base}/${org}/members/${who.admin}`)).status).toBe(status)
      expect((await c.post(`${base}/${org}/transfer`, { user_id: who[role] })).status).toBe(status)
      expect((await c.delete(`${base}/${org}`)).status).toBe(status)
    }
    const admin = t.as(who.admin)
    const renamed = await admin.patch(`${base}/${org}`, { name: 'Renamed', slug: `renamed-${n}` })
    expect(renamed.status).toBe(200)
    expect(renamed.body).toMatchObject({ name: 'Renamed', slug: `renamed-${n}`, role: 'admin' })
    const inv = await admin.post(`${base}/${org}/invitations`, { email: 'new@example.com', role: 'member' })
    expect(inv.status).toBe(201)
    expect(JSON.stringify(inv.body)).not.toContain('token')
    expect((await admin.delete(`${base}/${org}/invitations/${inv.body.id}`)).status).toBe(204)
    // An admin may not make an owner, unmake one, invite one, transfer or delete.
    expect((await admin.patch(`${base}/${org}/members/${who.member}`, { role: 'owner' })).status).toBe(403)
    expect((await admin.patch(`${base}/${org}/members/${who.owner}`, { role: 'member' })).status).toBe(403)
    expect((await admin.delete(`${base}/${org}/members/${who.owner}`)).status).toBe(403)
    expect((await admin.post(`${base}/${org}/invitations`, { email: 'o@example.com', role: 'owner' })).status).toBe(403)
    expect((await admin.post(`${base}/${org}/transfer`, { user_id: who.admin })).status).toBe(403)
    expect((await admin.delete(`${base}/${org}`)).status).toBe(403)
    // An admin changes and removes non-owners.
    const changed = await admin.patch(`${base}/${org}/members/${who.member}`, { role: 'billing' })
    expect(changed.status).toBe(200)
    expect(changed.body).toMatchObject({ user_id: who.member, role: 'billing' })
    expect((await admin.delete(`${base}/${org}/members/${who.billing}`)).status).toBe(204)
    expect((await t.as(who.billing).get(`${base}/${org}`)).status).toBe(404)
    // Every member may leave.
    expect((await t.as(who.member).post(`${base}/${org}/leave`)).status).toBe(204)
    expect((await t.as(who.member).get(`${base}/${org}`)).status).toBe(404)
    // The owner deletes: gone for everyone.
    expect((await t.as(who.owner).delete(`${base}/${org}`)).status).toBe(204)
    expect((await t.as(who.owner).get(`${base}/${org}`)).status).toBe(404)
    expect((await t.as(who.admin).get(base)).body.total).toBe(0)
  })

  it('keeps an owner: the last owner cannot leave, be demoted or be removed', async () => {
    const { org, who } = await team()
    const owner = t.as(who.owner)
    const leave = await owner.post(`${base}/${org}/leave`)
    expect(leave.status).toBe(409)
    expect(leave.body.error.details.reason).toBe('last_owner')
    expect((await owner.patch(`${base}/${org}/members/${who.owner}`, { role: 'admin' })).status).toBe(409)
    expect((await owner.delete(`${base}/${org}/members/${who.owner}`)).status).toBe(409)
    // With a second owner, the first may step down.
    expect((await owner.patch(`${base}/${org}/members/${who.admin}`, { role: 'owner' })).status).toBe(200)
    expect((await owner.patch(`${base}/${org}/members/${who.owner}`, { role: 'member' })).status).toBe(200)
    const last = await t.as(who.admin).post(`${base}/${org}/leave`)
    expect(last.status).toBe(409)
  })

  it('two owners demoting each other at once leave one owner', async () => {
    const { org, who } = await team()
    await t.as(who.owner).patch(`${base}/${org}/members/${who.admin}`, { role: 'owner' })
    const [x, y] = await Promise.all([
      t.as(who.owner).patch(`${base}/${org}/members/${who.admin}`, { role: 'member' }),
      t.as(who.admin).patch(`${base}/${org}/members/${who.owner}`, { role: 'member' }),
    ])
    expect([x.status, y.status].sort()).toEqual([200, 409])
    const owners = await t.app.db.sql`select 1 from org_memberships where org_id = ${org} and role = 'owner'`
    expect(owners.length).toBe(1)
  })

  it('transfers ownership: the member becomes owner, the caller admin', async () => {
    const { org, who } = await team()
    const res = await t.as(who.owner).post(`${base}/${org}/transfer`, { user_id: who.member })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ user_id: who.member, role: 'owner' })
    expect((await t.as(who.owner).get(`${base}/${org}`)).body.role).toBe('admin')
    expect((await t.as(who.member).get(`${base}/${org}`)).body.role).toBe('owner')
    // To a non-member: 404.
    expect((await t.as(who.member).post(`${base}/${org}/transfer`, { user_id: who.stranger })).status).toBe(404)
    const audit = await t.app.db.sql<{ action: string }[]>`
      select action from audit_logs where resource_id = ${org} and action = 'org.transfer'`
    expect(audit.length).toBe(1)
  })
})

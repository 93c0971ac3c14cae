/** Organizations over HTTP: create, list, get, patch, delete, slugs, events (docs/plugins/organizations.md#routes). */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import type { EventMap } from '../../../core/index.ts'
import organizations from '../index.ts'
import { addMember, createOrg, orgsApp, type OrgTestApp } from './support.ts'

describe('organizations', () => {
  let t: OrgTestApp
  const seen: { name: string; payload: unknown }[] = []
  beforeAll(async () => {
    t = await orgsApp()
    for (const name of [
      'org.created',
      'org.member_added',
      'org.member_removed',
      'org.role_changed',
      'org.deleted',
    ] as const)
      t.app.events.subscribe(name, (payload: EventMap[typeof name]) => void seen.push({ name, payload }))
  })
  afterAll(() => t.close())

  it('creates an organization whose creator is its owner, with a slug from the name', async () => {
    const res = await t.as('alice').post('/api/v1/app/orgs', { name: 'Acme Corp!' })
    expect(res.status).toBe(201)
    expect(res.body).toMatchObject({ name: 'Acme Corp!', slug: 'acme-corp', role: 'owner' })
    const list = await t.as('alice').get('/api/v1/app/orgs')
    expect(list.status).toBe(200)
    expect(list.body.items.map((o: { id: string }) => o.id)).toContain(res.body.id)
    expect(list.body.total).toBe(1)
    const got = await t.as('alice').get(`/api/v1/app/orgs/${res.body.id}`)
    expect(got.body).toMatchObject({ id: res.body.id, slug: 'acme-corp', role: 'owner' })
  })

  it('answers 409 for a taken slug (given or derived), 422 for a malformed one; a deleted org frees its slug', async () => {
    const first = await t.as('bob').post('/api/v1/app/orgs', { name: 'Taken', slug: 'taken' })
    expect(first.status).toBe(201)
    const again = await t.as('carol').post('/api/v1/app/orgs', { name: 'Other', slug: 'taken' })
    expect(again.status).toBe(409)
    expect(again.body.error.details.reason).toBe('slug_taken')
    expect((await t.as('carol').post('/api/v1/app/orgs', { name: 'taken' })).status).toBe(409)
    expect((await t.as('carol').post('/api/v1/app/orgs', { name: 'x', slug: 'Bad Slug' })).status).toBe(422)
    expect((await t.as('carol').post('/api/v1/app/orgs', { name: '   ' })).status).toBe(422)
    const other = await createOrg(t, 'carol', 'Carol Co')
    expect((await t.as('carol').patch(`/api/v1/app/orgs/${other}`, { slug: 'taken' })).status).toBe(409)
    expect((await t.as('bob').delete(`/api/v1/app/orgs/${first.body.id}`)).status).toBe(204)
    const patched = await t.as('carol').patch(`/api/v1/app/orgs/${other}`, { slug: 'taken' })
    expect(patched.status).toBe(200)
    expect(patched.body.slug).toBe('taken')
  })

  it('answers 404 for an unknown or malformed id', async () => {
    expect((await t.as('alice').get('/api/v1/app/orgs/00000000-0000-4000-8000-000000000000')).status).toBe(404)
    expect((await t.as('alice').get('/api/v1/app/orgs/nope')).status).toBe(404)
    expect((await t.as('alice').get('/api/v1/app/orgs/nope/members')).status).toBe(404)
  })

  it('pages the list of my organizations and the members, in v1 and v2', async () => {
    for (let i = 0; i < 3; i++) await createOrg(t, 'dana', `Dana ${i}`)
    const p1 = await t.as('dana').get('/api/v1/app/orgs?limit=2')
    expect(p1.body).toMatchObject({ total: 3, skip: 0, limit: 2 })
    expect(p1.body.items.map((o: { name: string }) => o.name)).toEqual(['Dana 2', 'Dana 1'])
    const p2 = await t.as('dana').get('/api/v1/app/orgs?limit=2&skip=2')
    expect(p2.body.items.map((o: { name: string }) => o.name)).toEqual(['Dana 0'])
    const v2 = await t.as('dana').get('/api/v2/app/orgs?limit=2')
    expect(v2.status).toBe(200)
    expect(v2.body.data.length).toBe(2)
    expect(v2.body.meta.pagination.total).toBe(3)
    const org = p1.body.items[0].id
    await addMember(t, org, 'dana', 'erin', 'member')
    const members = await t.as('erin').get(`/api/v1/app/orgs/${org}/members?limit=1`)
    expect(members.body).toMatchObject({ total: 2, limit: 1 })
    expect(members.body.items[0]).toMatchObject({ user_id: 'erin', email: 'erin@example.com', role: 'member' })
  })

  it('publishes org.* events after commit, audits every change, and serves dependents', async () => {
    seen.length = 0
    const org = await createOrg(t, 'fred', 'Fred Inc')
    await addMember(t, org, 'fred', 'gail', 'member')
    await t.as('fred').patch(`/api/v1/app/orgs/${org}/members/gail`, { role: 'admin' })
    const svc = t.app.service(organizations)
    expect(await svc.membership(org, 'gail')).toEqual({ role: 'admin' })
    expect(await svc.memberCount(org)).toBe(2)
    expect((await svc.listMemberIds(org)).sort()).toEqual(['fred', 'gail'])
    expect((await svc.get(org))?.name).toBe('Fred Inc')
    await t.as('gail').post(`/api/v1/app/orgs/${org}/leave`)
    await t.as('fred').delete(`/api/v1/app/orgs/${org}`)
    expect(await svc.get(org)).toBeUndefined()
    expect(await svc.membership(org, 'fred')).toBeUndefined()
    await Bun.sleep(20)
    expect(seen).toEqual([
      { name: 'org.created', payload: { org_id: org, user_id: 'fred' } },
      { name: 'org.member_added', payload: { org_id: org, user_id: 'gail', role: 'member' } },
      { name: 'org.role_changed', payload: { org_id: org, user_id: 'gail', role: 'admin', previous_role: 'member' } },
      { name: 'org.member_removed', payload: { org_id: org, user_id: 'gail' } },
      { name: 'org.deleted', payload: { org_id: org, id: org } },
    ])
    const actions = await t.app.db.sql<{ action: string }[]>`
      select action from audit_logs where resource_id = ${org} order by created_at, id`
    expect(actions.map((a) => a.action)).toEqual([
      'org.create',
      'org.invitation_create',
      'org.invitation_accept',
      'org.member_role_change',
      'org.member_leave',
      'org.delete',
    ])
  })
})

/** Projects over HTTP: CRUD, pagination, search and its index, soft delete, ownership, validation, scopes, v1 and v2. */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import type { User } from '../../../core/index.ts'
import { testApp, type TestApp } from '../../../core/testing/index.ts'
import projects from '../index.ts'
import { keyHeader, scopedKeys } from './support.ts'

let t: TestApp
const events: { name: string; payload: any }[] = []

beforeAll(async () => {
  t = await testApp({ plugins: [projects, scopedKeys] })
  for (const name of ['project.created', 'project.updated', 'project.deleted'] as const) {
    t.app.events.subscribe(name, (payload) => void events.push({ name, payload }))
  }
})
afterAll(() => t?.close())

const base = '/api/v1/app/projects'
const create = async (user: string, name: string, description?: string) => {
  const res = await t.as(user).post(base, description === undefined ? { name } : { name, description })
  expect(res.status).toBe(201)
  return res.body
}
const tick = () => new Promise((r) => setTimeout(r, 10))
const userOf = (id: string) => ({ id, role: 'user', is_active: true }) as User

describe('projects CRUD', () => {
  it('creates (201), gets, patches and deletes (204) a project with the seed fields', async () => {
    const created = await create('alice', 'New Project', 'Optional description')
    expect(Object.keys(created).sort()).toEqual(['created_at', 'description', 'id', 'name', 'owner_id', 'updated_at'])
    expect(created).toMatchObject({ name: 'New Project', description: 'Optional description', owner_id: 'alice' })
    expect(created.id).toMatch(/^[0-9a-f-]{36}$/)
    expect(new Date(created.created_at).toISOString()).toBe(created.created_at)

    const got = await t.as('alice').get(`${base}/${created.id}`)
    expect(got.status).toBe(200)
    expect(got.body).toEqual(created)

    const patched = await t.as('alice').patch(`${base}/${created.id}`, { name: 'Updated Name' })
    expect(patched.status).toBe(200)
    expect(patched.body).toMatchObject({ id: created.id, name: 'Updated Name', description: 'Optional description' })
    expect(patched.body.updated_at >= created.updated_at).toBe(true)

    const cleared = await t.as('alice').patch(`${base}/${created.id}`, { description: null })
    expect(cleared.body.description).toBeNull()

    const del = await t.as('alice').delete(`${base}/${created.id}`)
    expect(del.status).toBe(204)
    expect(del.text).toBe('')
  })

  it('publishes project.created, project.updated and project.deleted', async () => {
    events.length = 0
    const p = await create('eve', 'Evented')
    await t.as('eve').patch(`${base}/${p.id}`, { description: 'x' })
    await t.as('eve').delete(`${base}/${p.id}`)
    await tick()
    expect(events.map((e) => e.name)).toEqual(['project.created', 'project.updated', 'project.deleted'])
    expect(events[0]!.payload.project.id).toBe(p.id)
    expect(events[1]!.payload.changed).toEqual(['description'])
    expect(events[2]!.payload).toEqual({ id: p.id, owner_id: 'eve' })
  })

  it('soft-deletes: the row keeps deleted_at and the project is 404 everywhere', async () => {
    const p = await create('alice', 'Doomed')
    expect(
      await t.app.channels.authorize(`project:${p.id}`, { user: userOf('alice'), kind: 'jwt', scopes: 'all' }),
    ).toBe('ok')
    await t.as('alice').delete(`${base}/${p.id}`)
    const [row] = await t.app.db.sql`select deleted_at from projects where id = ${p.id}`
    expect(row!.deleted_at).toBeInstanceOf(Date)
    for (const res of [
      await t.as('alice').get(`${base}/${p.id}`),
      await t.as('alice').patch(`${base}/${p.id}`, { name: 'Back' }),
      await t.as('alice').delete(`${base}/${p.id}`),
    ]) {
      expect(res.status).toBe(404)
      expect(res.body.error).toEqual({
        code: 'NOT_FOUND',
        message: 'Project not found',
        details: { resource: 'Project', id: p.id },
      })
    }
    const list = await t.as('alice').get(`${base}?search=doomed`)
    expect(list.body.total).toBe(0)
    expect(
      await t.app.channels.authorize(`project:${p.id}`, { user: userOf('alice'), kind: 'jwt', scopes: 'all' }),
    ).toBe('forbidden')
  })

  it("answers 404, never 403, for someone else's project on read, patch and delete", async () => {
    const p = await create('alice', 'Private')
    for (const res of [
      await t.as('bob').get(`${base}/${p.id}`),
      await t.as('bob').patch(`${base}/${p.id}`, { name: 'Mine now' }),
      await t.as('bob').delete(`${base}/${p.id}`),
    ]) {
      expect(res.status).toBe(404)
      expect(res.body.error.code).toBe('NOT_FOUND')
    }
    expect((await t.as('alice').get(`${base}/${p.id}`)).body.name).toBe('Private')
    expect(await t.app.channels.authorize(`project:${p.id}`, { user: userOf('bob'), kind: 'jwt', scopes: 'all' })).toBe(
      'forbidden',
    )
  })

  it('answers 404 for an id that is not a UUID, without reaching SQL', async () => {
    for (const id of ['abc', '1', "x' or 1=1 --", '00000000-0000-0000-0000-00000000000g']) {
      const res = await t.as('alice').get(`${base}/${encodeURIComponent(id)}`)
      expect(res.status).toBe(404)
    }
    expect(await t.app.channels.authorize('project:abc', { user: userOf('alice'), kind: 'jwt', scopes: 'all' })).toBe(
      'forbidden',
    )
  })
})

describe('projects validation', () => {
  const expect422 = (res: { status: number; body: any }, field: string) => {
    expect(res.status).toBe(422)
    expect(res.body.error.code).toBe('VALIDATION_ERROR')
    expect(res.body.error.details.field).toBe(field)
  }

  it('bounds name to 1-255 and description to 2000 characters', async () => {
    const a = t.as('val')
    expect422(await a.post(base, { name: '' }), 'name')
    expect422(await a.post(base, { name: '   ' }), 'name')
    expect422(await a.post(base, { name: 'x'.repeat(256) }), 'name')
    expect422(await a.post(base, { name: 'ok', description: 'd'.repeat(2001) }), 'description')
    expect422(await a.post(base, {}), 'name')
    expect422(await a.post(base, { name: 42 }), 'name')
    expect((await a.post(base, { name: 'x'.repeat(255), description: 'd'.repeat(2000) })).status).toBe(201)
    const p = await create('val', 'Valid')
    expect422(await a.patch(`${base}/${p.id}`, { name: '' }), 'name')
    expect422(await a.patch(`${base}/${p.id}`, { name: 'y'.repeat(256) }), 'name')
    expect422(await a.patch(`${base}/${p.id}`, { description: 'd'.repeat(2001) }), 'description')
  })

  it('trims the name and leaves a project unchanged on an empty patch', async () => {
    const p = await create('val', '  Spaced  ')
    expect(p.name).toBe('Spaced')
    const same = await t.as('val').patch(`${base}/${p.id}`, {})
    expect(same.status).toBe(200)
    expect(same.body).toEqual(p)
  })

  it('answers 400 for malformed JSON and 422 for pagination out of range', async () => {
    const bad = await t
      .as('val')
      .request('POST', base, { raw: '{"name":', headers: { 'content-type': 'application/json' } })
    expect(bad.status).toBe(400)
    expect(bad.body.error.code).toBe('BAD_REQUEST')
    for (const q of ['limit=0', 'limit=101', 'skip=-1'])
      expect422(await t.as('val').get(`${base}?${q}`), q.split('=')[0]!)
  })
})

describe('projects list', () => {
  it('pages newest first with totals', async () => {
    const names = Array.from({ length: 25 }, (_, i) => `Paged ${i + 1}`)
    // Newest first is by created_at, whose clock ticks in milliseconds on PGlite: projects made
    // in the same millisecond tie and are ordered by id. Keep these apart.
    for (const n of names) {
      await create('pager', n)
      await Bun.sleep(2)
    }
    await create('someone-else', 'Paged 99')
    const first = await t.as('pager').get(base)
    expect(first.body).toMatchObject({ total: 25, skip: 0, limit: 20 })
    expect(first.body.items.length).toBe(20)
    expect(first.body.items[0].name).toBe('Paged 25')
    const second = await t.as('pager').get(`${base}?skip=20&limit=10`)
    expect(second.body).toMatchObject({ total: 25, skip: 20, limit: 10 })
    expect(second.body.items.map((p: any) => p.name)).toEqual(['Paged 5', 'Paged 4', 'Paged 3', 'Paged 2', 'Paged 1'])
    const past = await t.as('pager').get(`${base}?skip=40`)
    expect(past.body).toMatchObject({ items: [], total: 25, skip: 40 })
  })

  it('searches by name case-insensitively, by word prefix, only among my live projects', async () => {
    await create('searcher', 'Marketing Website')
    await create('searcher', 'mobile APP redesign')
    await create('searcher', 'Internal tools')
    await create('intruder', 'Marketing plan')
    const names = async (q: string) =>
      (await t.as('searcher').get(`${base}?search=${encodeURIComponent(q)}`)).body.items.map((p: any) => p.name).sort()
    expect(await names('marketing')).toEqual(['Marketing Website'])
    expect(await names('WEB')).toEqual(['Marketing Website'])
    expect(await names('app')).toEqual(['mobile APP redesign'])
    expect(await names('Mobile Re')).toEqual(['mobile APP redesign'])
    expect(await names("tools'); drop table projects; --")).toEqual([])
    expect(await names('!!!')).toEqual([])
    expect(await names('')).toEqual(['Internal tools', 'Marketing Website', 'mobile APP redesign'])
    const res = await t.as('searcher').get(`${base}?search=m&limit=1`)
    expect(res.body).toMatchObject({ total: 2, limit: 1 })
  })

  it('serves the search predicate from the name index', async () => {
    const sql = t.app.db.sql
    await sql`insert into users (id) values ('bulk') on conflict do nothing`
    await sql`insert into projects (owner_id, name) select 'bulk', 'Bulk ' || i || ' ' || md5(i::text) from generate_series(1, 5000) i`
    await sql`analyze projects`
    const plan = await sql.begin(async (tx) => {
      await tx`set local enable_seqscan = off`
      return tx`explain select id from projects
        where deleted_at is null and to_tsvector('simple', name) @@ to_tsquery('simple', 'market:*')`
    })
    expect(plan.map((r: any) => r['QUERY PLAN']).join('\n')).toContain('projects_name_search_idx')
  })

  it('wraps v2: the project in data, lists with meta.pagination, errors with meta', async () => {
    const p = await create('v2user', 'Enveloped')
    const one = await t.as('v2user').get(`/api/v2/app/projects/${p.id}`)
    expect(one.body.data).toEqual(p)
    expect(one.body.meta.version).toBe('v2')
    const list = await t.as('v2user').get('/api/v2/app/projects?limit=5')
    expect(list.body.data).toEqual([p])
    expect(list.body.meta.pagination).toEqual({ total: 1, skip: 0, limit: 5 })
    const created = await t.as('v2user').post('/api/v2/app/projects', { name: 'Second' })
    expect(created.status).toBe(201)
    expect(created.body.data.name).toBe('Second')
    const missing = await t.as('v2user').get(`/api/v2/app/projects/${crypto.randomUUID()}`)
    expect(missing.status).toBe(404)
    expect(missing.body.error.code).toBe('NOT_FOUND')
    expect(missing.body.meta.version).toBe('v2')
  })
})

describe('projects with API keys', () => {
  it('needs projects:read to read and projects:write to write', async () => {
    await t.as('keyed').get(base) // provisions the user
    const p = await create('keyed', 'Keyed')
    const read = keyHeader('keyed', 'projects:read')
    expect((await t.get(base, { headers: read })).body.total).toBe(1)
    expect((await t.get(`${base}/${p.id}`, { headers: read })).status).toBe(200)
    const denied = await t.post(base, { name: 'No' }, { headers: read })
    expect(denied.status).toBe(403)
    expect(denied.body.error.code).toBe('AUTHORIZATION_ERROR')
    expect(denied.body.error.details).toEqual({ required: 'projects:write', granted: ['projects:read'] })
    expect((await t.delete(`${base}/${p.id}`, { headers: read })).status).toBe(403)

    const write = keyHeader('keyed', 'projects:write')
    expect((await t.get(base, { headers: write })).status).toBe(403)
    expect((await t.patch(`${base}/${p.id}`, { name: 'Renamed' }, { headers: write })).status).toBe(200)
    expect((await t.post(base, { name: 'By key' }, { headers: write })).status).toBe(201)
    const wildcard = keyHeader('keyed', 'projects:*')
    expect((await t.get(base, { headers: wildcard })).body.total).toBe(2)
    expect((await t.get(base, { headers: keyHeader('keyed', 'files:read') })).status).toBe(403)
  })
})

/** The projects list over HTTP with core/db/paged.ts: after cursor, next_after, total_exact, ties, 422s (docs/pagination.md). */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { testApp, type TestApp } from '../../../core/testing/index.ts'
import projects from '../index.ts'

let t: TestApp
beforeAll(async () => {
  t = await testApp({ plugins: [projects] })
  const sql = t.app.db.sql
  await sql`insert into users (id) values ('pager'), ('ties'), ('many') on conflict do nothing`
  // 'pager': 25 projects a second apart; 'ties': 6 sharing one created_at; 'many': past the count cap.
  await sql`insert into projects (owner_id, name, created_at)
    select 'pager', 'P' || i, timestamptz '2026-01-01 00:00:00+00' + i * interval '1 second' from generate_series(1, 25) i`
  await sql`insert into projects (owner_id, name, created_at)
    select 'ties', 'T' || i, timestamptz '2026-01-01 00:00:00+00' from generate_series(1, 6) i`
  await sql`insert into projects (owner_id, name) select 'many', 'M' || i from generate_series(1, 10050) i`
})
afterAll(() => t?.close())

const v1 = '/api/v1/app/projects'
const v2 = '/api/v2/app/projects'

describe('projects list: after cursor', () => {
  it('walks the whole list with next_after in v1, in the skip/limit order, then stops', async () => {
    const all = (await t.as('pager').get(`${v1}?limit=100`)).body
    expect(all.total).toBe(25)
    expect(all.next_after).toBeUndefined()
    expect(Object.keys(all).sort()).toEqual(['items', 'limit', 'skip', 'total'])

    const seen: string[] = []
    let after: string | undefined
    for (let i = 0; i < 10; i++) {
      const res = await t.as('pager').get(`${v1}?limit=10${after ? `&after=${after}` : ''}`)
      expect(res.status).toBe(200)
      expect(res.body).toMatchObject({ total: 25, skip: 0, limit: 10 })
      seen.push(...res.body.items.map((p: { name: string }) => p.name))
      after = res.body.next_after
      if (!after) break
    }
    expect(seen).toEqual(all.items.map((p: { name: string }) => p.name))
    expect(seen.slice(0, 3)).toEqual(['P25', 'P24', 'P23'])
  })

  it('puts next_after in v2 meta.pagination and follows it', async () => {
    const first = await t.as('pager').get(`${v2}?limit=20`)
    expect(first.body.meta.pagination).toEqual({ total: 25, skip: 0, limit: 20, next_after: expect.any(String) })
    const second = await t.as('pager').get(`${v2}?limit=20&after=${first.body.meta.pagination.next_after}`)
    expect(second.body.data.map((p: { name: string }) => p.name)).toEqual(['P5', 'P4', 'P3', 'P2', 'P1'])
    expect(second.body.meta.pagination).toEqual({ total: 25, skip: 0, limit: 20 })
  })

  it('orders ties on created_at by id and pages through them without loss or repeat', async () => {
    const all = (await t.as('ties').get(`${v1}?limit=100`)).body.items.map((p: { id: string }) => p.id)
    expect(all).toEqual([...all].sort().reverse())
    const page1 = await t.as('ties').get(`${v1}?limit=4`)
    const page2 = await t.as('ties').get(`${v1}?limit=4&after=${page1.body.next_after}`)
    expect([...page1.body.items, ...page2.body.items].map((p: { id: string }) => p.id)).toEqual(all)
    expect(page2.body.next_after).toBeUndefined()
  })

  it('answers a bad cursor with 422 on `after`, and skip with after with 422 on `skip`', async () => {
    const bad = Buffer.from('123~not-a-uuid').toString('base64url')
    for (const after of [bad, 'has%20space', 'x'.repeat(401)]) {
      const res = await t.as('pager').get(`${v1}?after=${after}`)
      expect(res.status).toBe(422)
      expect(res.body.error.code).toBe('VALIDATION_ERROR')
      expect(res.body.error.details.field).toBe('after')
    }
    const first = await t.as('pager').get(`${v1}?limit=5`)
    const both = await t.as('pager').get(`${v2}?limit=5&skip=5&after=${first.body.next_after}`)
    expect(both.status).toBe(422)
    expect(both.body.error.details.field).toBe('skip')
    expect(both.body.meta.version).toBe('v2')
  })

  it("keeps a cursor to one owner's rows: another owner gets only their own projects", async () => {
    const first = await t.as('pager').get(`${v1}?limit=5`)
    const other = await t.as('ties').get(`${v1}?limit=100&after=${first.body.next_after}`)
    expect(other.status).toBe(200)
    expect(other.body.items.every((p: { owner_id: string }) => p.owner_id === 'ties')).toBe(true)
  })
})

describe('projects list: the count cap', () => {
  it('reports a capped total as not exact in v1 and v2', async () => {
    const r1 = await t.as('many').get(`${v1}?limit=5`)
    expect(r1.body).toMatchObject({ total: 10_000, skip: 0, limit: 5, total_exact: false })
    expect(r1.body.items.length).toBe(5)
    const r2 = await t.as('many').get(`${v2}?limit=5`)
    expect(r2.body.meta.pagination).toMatchObject({ total: 10_000, total_exact: false, next_after: expect.any(String) })
    // A deep page proves more rows than the cap: the lower bound grows with it.
    const deep = await t.as('many').get(`${v1}?limit=20&skip=10020`)
    expect(deep.body.items.length).toBe(20)
    expect(deep.body).toMatchObject({ total: 10_041, total_exact: false })
    const last = await t.as('many').get(`${v1}?limit=100&skip=10000`)
    expect(last.body).toMatchObject({ total: 10_050 })
    expect(last.body.total_exact).toBeUndefined()
  })
})

/**
 * Text-search lists page by keyset cursor (docs/plugins/tickets.md#search-and-lists): `q` lists
 * sorted by -created_at or -updated_at hand out `next_after`; following it walks every match once,
 * in order, ties on the sort key broken by id, with no duplicate and no gap.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { base, ticketsApp, type TicketsTestApp } from './support.ts'

let t: TicketsTestApp
const matching: string[] = []
const aliceMatching: string[] = []

beforeAll(async () => {
  t = await ticketsApp()
  await t.user('agent1', 'agent')
  await t.user('alice')
  await t.user('bob')
  for (let i = 0; i < 9; i++) {
    const who = i % 3 === 0 ? 'bob' : 'alice'
    const res = await t.as(who).post(base, { title: `Wombat sighting ${i}`, description: 'In the server room' })
    expect(res.status).toBe(201)
    matching.push(res.body.id)
    if (who === 'alice') aliceMatching.push(res.body.id)
    // A ticket the search must not return, between the matches.
    await t.as(who).post(base, { title: `Printer ${i}`, description: 'Out of toner' })
  }
  // Four matches share one created_at and one updated_at: only the id orders them.
  await t.app.db.sql`update tickets set created_at = '2026-03-01T00:00:00Z', updated_at = '2026-03-01T00:00:00Z'
    where id in ${t.app.db.sql(matching.slice(2, 6))}`
})
afterAll(() => t?.close())

/** Every page of `query` as `who`, following next_after; asserts each page's shape on the way. */
async function walk(who: string, query: string, limit: number) {
  const ids: string[] = []
  let after: string | undefined
  for (let pages = 0; pages < 50; pages++) {
    const res = await t.as(who).get(`${base}?${query}&limit=${limit}${after ? `&after=${after}` : ''}`)
    expect(res.status).toBe(200)
    expect(res.body.limit).toBe(limit)
    ids.push(...res.body.items.map((i: any) => i.id))
    after = res.body.next_after
    if (!after) return { ids, total: res.body.total }
    expect(res.body.items.length).toBe(limit)
  }
  throw new Error('next_after never ended')
}

/** The expected order: the sort key descending, then id descending. */
async function expected(ids: string[], key: 'created_at' | 'updated_at') {
  const rows = await t.app.db.sql<{ id: string }[]>`select id from tickets where id in ${t.app.db.sql(ids)}
    order by ${t.app.db.sql(key)} desc, id desc`
  return rows.map((r) => r.id)
}

describe('q lists with next_after', () => {
  it('walks every match once, newest first, ties by id (staff, -created_at)', async () => {
    const first = await t.as('agent1').get(`${base}?q=wombat&limit=2`)
    expect(first.body.total).toBe(9)
    expect(typeof first.body.next_after).toBe('string')
    const { ids, total } = await walk('agent1', 'q=wombat', 2)
    expect(total).toBe(9)
    expect(new Set(ids).size).toBe(ids.length)
    expect(ids).toEqual(await expected(matching, 'created_at'))
  })

  it('pages by updated_at with sort=-updated_at, and a page size that divides the matches evenly', async () => {
    const { ids } = await walk('agent1', 'q=wombat&sort=-updated_at', 3)
    expect(ids).toEqual(await expected(matching, 'updated_at'))
  })

  it('a requester walks their own matches only', async () => {
    const { ids, total } = await walk('alice', 'q=wombat', 4)
    expect(total).toBe(6)
    expect(ids).toEqual(await expected(aliceMatching, 'created_at'))
  })

  it('the last page and a single page carry no next_after', async () => {
    const all = await t.as('agent1').get(`${base}?q=wombat&limit=9`)
    expect(all.body.items).toHaveLength(9)
    expect(all.body.next_after).toBeUndefined()
    const none = await t.as('agent1').get(`${base}?q=zanzibarite&limit=2`)
    expect(none.body).toMatchObject({ items: [], total: 0 })
    expect(none.body.next_after).toBeUndefined()
  })

  it('v2 carries the cursor in meta.pagination and it continues the same walk', async () => {
    const v2 = base.replace('/v1/', '/v2/')
    const first = await t.as('agent1').get(`${v2}?q=wombat&limit=5`)
    expect(first.status).toBe(200)
    const after = first.body.meta.pagination.next_after
    expect(typeof after).toBe('string')
    const second = await t.as('agent1').get(`${v2}?q=wombat&limit=5&after=${after}`)
    const ids = [...first.body.data, ...second.body.data].map((i: any) => i.id)
    expect(ids).toEqual(await expected(matching, 'created_at'))
    expect(second.body.meta.pagination.next_after).toBeUndefined()
  })

  it('refuses a forged cursor, after with skip, and after with a sort that pages by skip', async () => {
    const forged = await t.as('agent1').get(`${base}?q=wombat&after=bm90LWEtY3Vyc29y`)
    expect(forged.status).toBe(422)
    expect(forged.body.error.details.field).toBe('after')
    const first = await t.as('agent1').get(`${base}?q=wombat&limit=2`)
    const withSkip = await t.as('agent1').get(`${base}?q=wombat&skip=2&after=${first.body.next_after}`)
    expect(withSkip.status).toBe(422)
    expect(withSkip.body.error.details.field).toBe('skip')
    const bySort = await t.as('agent1').get(`${base}?q=wombat&sort=number&after=${first.body.next_after}`)
    expect(bySort.status).toBe(422)
    expect(bySort.body.error.details.field).toBe('after')
  })
})

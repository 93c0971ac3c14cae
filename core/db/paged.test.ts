/** paged(): exact and capped totals, the cursor round trip, bad cursors, ties on the sort key, and page() carrying it all. */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { AppError } from '../errors/index.ts'
import { envelope, page } from '../http/index.ts'
import { createTestDatabase, type TestDatabase } from '../testing/database.ts'
import { decodeCursor, encodeCursor, paged } from './paged.ts'

let db: TestDatabase
beforeAll(async () => {
  db = await createTestDatabase({ migrations: [] })
  const sql = db.sql
  await sql`create table items (
    id uuid primary key, owner text not null, n int not null, created_at timestamptz not null)`
  await sql`create index items_owner_created_idx on items (owner, created_at desc, id desc)`
  // 'a': 30 rows, one per second; 'tie': 7 rows sharing one created_at (ties ordered by id);
  // 'micro': rows 1 µs apart, which a millisecond cursor would skip.
  await sql`insert into items (id, owner, n, created_at)
    select gen_random_uuid(), 'a', i, timestamptz '2026-01-01 00:00:00+00' + i * interval '1 second'
    from generate_series(1, 30) i`
  await sql`insert into items (id, owner, n, created_at)
    select gen_random_uuid(), 'tie', i, timestamptz '2026-01-01 00:00:00+00' from generate_series(1, 7) i`
  await sql`insert into items (id, owner, n, created_at)
    select gen_random_uuid(), 'micro', i, timestamptz '2026-01-01 00:00:00.123+00' + i * interval '1 microsecond'
    from generate_series(1, 9) i`
})
afterAll(() => db?.close())

type Item = { id: string; owner: string; n: number; created_at: Date }
const list = (owner: string, query: { skip: number; limit: number; after?: string }, cap?: number) =>
  paged<Item>(db.sql, { table: 'items', where: db.sql`owner = ${owner}`, cap }, query)

/** Every row of `owner` through the cursor, `limit` at a time. */
async function walk(owner: string, limit: number) {
  const seen: Item[] = []
  let after: string | undefined
  for (let pages = 0; pages < 100; pages++) {
    const r = await list(owner, { skip: 0, limit, after })
    seen.push(...r.items)
    if (!r.next_after) return seen
    after = r.next_after
  }
  throw new Error('the cursor never ended')
}

const expectValidation = async (p: Promise<unknown>, field: string) => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(AppError)
  expect((err as AppError).errorCode).toBe('VALIDATION_ERROR')
  expect((err as AppError).details).toMatchObject({ field })
}

describe('paged: skip/limit', () => {
  it('returns newest first with an exact total and next_after while rows remain', async () => {
    const first = await list('a', { skip: 0, limit: 10 })
    expect(first.items.map((i) => i.n)).toEqual([30, 29, 28, 27, 26, 25, 24, 23, 22, 21])
    expect(first.total).toBe(30)
    expect(first.total_exact).toBeUndefined()
    expect(typeof first.next_after).toBe('string')
    expect(Object.keys(first.items[0]!).sort()).toEqual(['created_at', 'id', 'n', 'owner'])
  })

  it('counts the last page from its own rows and hands out no cursor there', async () => {
    const last = await list('a', { skip: 25, limit: 10 })
    expect(last.items.map((i) => i.n)).toEqual([5, 4, 3, 2, 1])
    expect(last.total).toBe(30)
    expect(last.next_after).toBeUndefined()
    const past = await list('a', { skip: 40, limit: 10 })
    expect(past.items).toEqual([])
    expect(past.total).toBe(30)
    expect(await list('nobody', { skip: 0, limit: 10 })).toEqual({ items: [], total: 0 })
  })

  it('caps the count: above the cap the total is a lower bound and not exact', async () => {
    const capped = await list('a', { skip: 0, limit: 5 }, 10)
    expect(capped.total).toBe(10)
    expect(capped.total_exact).toBe(false)
    // A page past the cap proves at least skip + rows + 1 rows exist.
    const deep = await list('a', { skip: 20, limit: 5 }, 10)
    expect(deep.items.map((i) => i.n)).toEqual([10, 9, 8, 7, 6])
    expect(deep.total).toBe(26)
    expect(deep.total_exact).toBe(false)
    // At the cap exactly, the count is still exact.
    const atCap = await list('a', { skip: 0, limit: 5 }, 30)
    expect(atCap.total).toBe(30)
    expect(atCap.total_exact).toBeUndefined()
  })
})

describe('paged: after cursor', () => {
  it('walks every row once, in the skip/limit order', async () => {
    const all = (await list('a', { skip: 0, limit: 100 })).items.map((i) => i.id)
    for (const limit of [1, 7, 10, 30]) expect((await walk('a', limit)).map((i) => i.id)).toEqual(all)
  })

  it('keeps the total of the whole list on cursor pages', async () => {
    const first = await list('a', { skip: 0, limit: 10 })
    const second = await list('a', { skip: 0, limit: 10, after: first.next_after })
    expect(second.items.map((i) => i.n)).toEqual([20, 19, 18, 17, 16, 15, 14, 13, 12, 11])
    expect(second.total).toBe(30)
    const capped = await list('a', { skip: 0, limit: 10, after: first.next_after }, 10)
    expect(capped).toMatchObject({ total: 10, total_exact: false })
  })

  it('orders ties on created_at by id (descending) and pages through them', async () => {
    const rows = (await list('tie', { skip: 0, limit: 100 })).items
    const ids = rows.map((r) => r.id)
    expect(ids).toEqual([...ids].sort().reverse())
    expect((await walk('tie', 2)).map((r) => r.id)).toEqual(ids)
    expect((await walk('tie', 3)).map((r) => r.id)).toEqual(ids)
  })

  it('keeps microseconds in the cursor (a millisecond key would skip rows)', async () => {
    const rows = (await list('micro', { skip: 0, limit: 100 })).items
    expect(rows.map((r) => r.n)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1])
    expect((await walk('micro', 2)).map((r) => r.n)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1])
  })

  it('rejects a cursor it did not write with 422 on `after`', async () => {
    const b64 = (s: string) => Buffer.from(s).toString('base64url')
    for (const after of [
      'not base64!',
      b64('no-separator'),
      b64('12x~' + crypto.randomUUID()),
      b64('123~not-a-uuid'),
      b64('~'),
      'x'.repeat(500),
    ]) {
      await expectValidation(list('a', { skip: 0, limit: 5, after }), 'after')
    }
    // A text id column accepts any id, but not an empty one.
    expect(decodeCursor(encodeCursor('1', 'user|42'), 'text')).toEqual({ key: '1', id: 'user|42' })
    expect(() => decodeCursor(b64('1~'), 'text')).toThrow(AppError)
  })

  it('rejects skip together with after (422 on `skip`); skip=0 is the default and fine', async () => {
    const first = await list('a', { skip: 0, limit: 5 })
    await expectValidation(list('a', { skip: 5, limit: 5, after: first.next_after }), 'skip')
  })
})

describe('page() and the v2 envelope carry what paged() learnt', () => {
  it('through the query object, for routes that rebuild the page from items and total', async () => {
    const query = { skip: 0, limit: 5 }
    const r = await list('a', query, 10)
    const p = page(r.items, r.total, query)
    expect(p).toMatchObject({ total: 10, skip: 0, limit: 5, total_exact: false, next_after: r.next_after })
    const v2 = envelope(p, 'req-1')
    expect(v2.meta.pagination).toEqual({ total: 10, skip: 0, limit: 5, total_exact: false, next_after: r.next_after! })
  })

  it('leaves the v1 shape {items, total, skip, limit} alone when there is nothing to add', async () => {
    const query = { skip: 0, limit: 50 }
    const r = await list('a', query)
    expect(Object.keys(page(r.items, r, query))).toEqual(['items', 'total', 'skip', 'limit'])
    expect(envelope(page(r.items, r, query), 'req-2').meta.pagination).toEqual({ total: 30, skip: 0, limit: 50 })
  })

  it('refuses `after` on a list that does not page by cursor', () => {
    expect(() => page([], 0, { skip: 0, limit: 5, after: encodeCursor('1', crypto.randomUUID()) })).toThrow(AppError)
  })
})

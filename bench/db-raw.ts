/**
 * Baseline for the database benchmark: raw Bun.serve + postgres.js running the same two queries as
 * the projects list (core/db/paged.ts: 21 rows through the owner index, then the count capped at
 * 10,001) and answering the same v2 body. No auth, no headers but the content type.
 */
import postgres from 'postgres'

const port = Number(process.env.PORT ?? 8111)
const sql = postgres(process.env.DATABASE_URL!, { max: 10, onnotice: () => {} })
const OWNER = 'bench-user'
const CAP = 10_000
// RAW_QUERY=window: the query the lists ran before core/db/paged.ts, the total as `count(*) over ()`
// in the page query (reads and sorts every matching row): the reference the targets are set against.
const WINDOW = process.env.RAW_QUERY === 'window'

type Row = {
  id: string
  name: string
  description: string | null
  owner_id: string
  created_at: Date
  updated_at: Date
}
const view = (r: Row) => ({
  id: r.id,
  name: r.name,
  description: r.description,
  owner_id: r.owner_id,
  created_at: r.created_at.toISOString(),
  updated_at: r.updated_at.toISOString(),
})
const meta = (pagination: Record<string, unknown>) => ({
  request_id: crypto.randomUUID(),
  timestamp: new Date().toISOString(),
  version: 'v2',
  pagination,
})

async function windowCount(limit: number) {
  const rows = await sql<(Row & { total: string })[]>`
    select id, name, description, owner_id, created_at, updated_at, count(*) over() as total
    from projects where owner_id = ${OWNER} and deleted_at is null
    order by created_at desc, id desc offset 0 limit ${limit}`
  return Response.json({ data: rows.map(view), meta: meta({ total: Number(rows[0]?.total ?? 0), skip: 0, limit }) })
}

const server = Bun.serve({
  port,
  hostname: '127.0.0.1',
  fetch: async (request) => {
    const url = new URL(request.url)
    if (url.pathname !== '/api/v2/app/projects') return new Response('not found', { status: 404 })
    const limit = Math.min(100, Math.max(1, Number(url.searchParams.get('limit') ?? 20)))
    if (WINDOW) return windowCount(limit)
    const rows = await sql<
      {
        id: string
        name: string
        description: string | null
        owner_id: string
        created_at: Date
        updated_at: Date
        k: string
      }[]
    >`
      select id, name, description, owner_id, created_at, updated_at, (extract(epoch from created_at) * 1000000)::bigint::text as k
      from projects where owner_id = ${OWNER} and deleted_at is null
      order by created_at desc, id desc limit ${limit + 1} offset 0`
    const more = rows.length > limit
    if (more) rows.length = limit
    const [c] = await sql<{ n: number }[]>`
      select count(*)::int as n from (select 1 from projects where owner_id = ${OWNER} and deleted_at is null limit ${CAP + 1}) t`
    const last = rows[rows.length - 1]
    const pagination: Record<string, unknown> = { total: Math.min(c!.n, CAP), skip: 0, limit }
    if (c!.n > CAP) pagination.total_exact = false
    if (more && last) pagination.next_after = Buffer.from(`${last.k}~${last.id}`).toString('base64url')
    return Response.json({ data: rows.map(view), meta: meta(pagination) })
  },
})
console.log(`listening ${server.port}`)

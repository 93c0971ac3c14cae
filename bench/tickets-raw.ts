/**
 * Baseline of the tickets benchmark: raw Bun.serve + postgres.js running the same two queries as
 * the plugin's list for a staff caller (the page through the filter's index, then the count
 * capped at 10,001) and answering the same v2 body. No auth, no headers but the content type.
 * Understands the three benchmarked lists: ?status=, ?q=, ?assignee_id=me, with limit.
 */
import postgres from 'postgres'

const port = Number(process.env.PORT ?? 8121)
const sql = postgres(process.env.DATABASE_URL!, { max: 10, onnotice: () => {} })
const ME = 'bench-user'
const CAP = 10_000
const iso = (d: Date | null) => (d ? d.toISOString() : null)
const breached = (due: Date | null, done: Date | null, now: Date) => due !== null && (done ? done > due : now > due)

const server = Bun.serve({
  port,
  hostname: '127.0.0.1',
  fetch: async (request) => {
    const url = new URL(request.url)
    if (url.pathname !== '/api/v2/app/tickets') return new Response('not found', { status: 404 })
    const p = url.searchParams
    const limit = Math.min(100, Math.max(1, Number(p.get('limit') ?? 20)))
    let where = sql`deleted_at is null`
    const status = p.get('status')
    if (status) where = sql`${where} and status = ${status}`
    if (p.get('assignee_id') === 'me') where = sql`${where} and assignee_id = ${ME}`
    const q = p.get('q')
    if (q) {
      const tsq = sql`websearch_to_tsquery('english'::regconfig, ${q})`
      where = sql`${where} and (search_public @@ ${tsq} or search_internal @@ ${tsq})`
    }
    const columns = sql`id, number, title, description, status, priority, urgency, category, subcategory, tags,
        requester_id, assignee_id, queue_id, source, custom_fields, due_at, scheduled_at, first_response_at,
        resolved_at, closed_at, sla_policy, first_response_due_at, resolution_due_at, created_at, updated_at`
    const count = async () =>
      (
        await sql<
          { n: number }[]
        >`select count(*)::int as n from (select 1 from tickets where ${where} limit ${CAP + 1}) t`
      )[0]!.n
    let rows: any[]
    let more = false
    const counted = q ? await count() : undefined
    let n = counted ?? 0
    if (counted !== undefined && counted <= CAP) {
      // The plugin's text-search path: count first, then the matches apart (GIN first) and sorted.
      rows = await sql<any[]>`with m as materialized (select ${columns} from tickets where ${where})
        select * from m order by created_at desc, id desc limit ${limit} offset 0`
    } else {
      rows = await sql<any[]>`select ${columns}, (extract(epoch from created_at) * 1000000)::bigint::text as k
        from tickets where ${where} order by created_at desc, id desc limit ${limit + 1} offset 0`
      more = rows.length > limit
      if (more) rows.length = limit
      n = !more ? rows.length : await count()
    }
    const last = rows[rows.length - 1]
    const pagination: Record<string, unknown> = { total: Math.min(n, CAP), skip: 0, limit }
    if (n > CAP) pagination.total_exact = false
    if (more && last) pagination.next_after = Buffer.from(`${last.k}~${last.id}`).toString('base64url')
    const now = new Date()
    return Response.json({
      data: rows.map((r) => ({
        id: r.id,
        number: r.number,
        title: r.title,
        description: r.description,
        status: r.status,
        priority: r.priority,
        urgency: r.urgency,
        category: r.category,
        subcategory: r.subcategory,
        tags: r.tags,
        requester_id: r.requester_id,
        assignee_id: r.assignee_id,
        queue_id: r.queue_id,
        source: r.source,
        custom_fields: r.custom_fields,
        due_at: iso(r.due_at),
        scheduled_at: iso(r.scheduled_at),
        first_response_at: iso(r.first_response_at),
        resolved_at: iso(r.resolved_at),
        closed_at: iso(r.closed_at),
        sla: {
          policy: r.sla_policy,
          first_response_due_at: iso(r.first_response_due_at),
          resolution_due_at: iso(r.resolution_due_at),
          first_response_breached: breached(r.first_response_due_at, r.first_response_at, now),
          resolution_breached: breached(r.resolution_due_at, r.resolved_at, now),
        },
        created_at: r.created_at.toISOString(),
        updated_at: r.updated_at.toISOString(),
      })),
      meta: { request_id: crypto.randomUUID(), timestamp: now.toISOString(), version: 'v2', pagination },
    })
  },
})
console.log(`listening ${server.port}`)

/** CSV export over HTTP (docs/plugins/tickets.md#export): header, filters, ids, neutralised cells, RFC 4180, roles and scopes, streaming. */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { serve } from '../../../core/index.ts'
import { scopedKeys, testApp, type TestApp } from '../../../core/testing/index.ts'
import { createFilesPlugin } from '../../files/index.ts'
import users from '../../users/index.ts'
import { EXPORT_BATCH } from '../export.ts'
import { createTicketsPlugin } from '../index.ts'
import { base, keyHeader, ticketsApp, type TicketsTestApp } from './support.ts'

const HEADER =
  'id,number,title,status,priority,requester_id,assignee_id,queue_id,tags,created_at,first_response_at,resolved_at,closed_at,sla_breached'
const exportPath = `${base}/export`

/** RFC 4180 reader (the test's own, so the server's writer is checked against an independent parser). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let cell = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"'
        i++
      } else if (c === '"') quoted = false
      else cell += c
    } else if (c === '"' && cell === '') quoted = true
    else if (c === ',') {
      row.push(cell)
      cell = ''
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell)
      rows.push(row)
      row = []
      cell = ''
      i++
    } else cell += c
  }
  if (cell !== '' || row.length) throw new Error('the CSV does not end with CRLF')
  return rows
}

/** Records as objects keyed by the header. */
const records = (text: string) => {
  const [head, ...rows] = parseCsv(text)
  expect(head!.join(',')).toBe(HEADER)
  for (const r of rows) expect(r.length).toBe(head!.length)
  return rows.map((r) => Object.fromEntries(head!.map((h, i) => [h, r[i]!])))
}

describe('export', () => {
  let t: TicketsTestApp
  const made: Record<string, any> = {}
  beforeAll(async () => {
    t = await ticketsApp()
    await t.user('agent1', 'agent')
    await t.user('alice')
    await t.user('bob')
    const open = async (user: string, body: Record<string, unknown>) => {
      const res = await t.as(user).post(base, { description: 'Details', ...body })
      expect(res.status).toBe(201)
      return res.body
    }
    made.formula = await open('alice', { title: '=1+1', tags: ['=cmd', 'ok'] })
    made.plus = await open('alice', { title: '+x', priority: 'urgent' })
    made.minus = await open('bob', { title: '-x', tags: ['vpn'] })
    made.at = await open('bob', { title: '@x', priority: 'low' })
    made.quoted = await open('alice', { title: 'Printer, "Laser" 3\nsecond line\r\nthird', tags: ['hw', 'printer'] })
    made.plain = await open('bob', { title: 'Plain title' })
    await t.as('agent1').post(`${base}/${made.plain.id}/assign`, { assignee_id: 'agent1' })
    await t.as('agent1').post(`${base}/${made.plain.id}/comments`, { body_md: 'On it' })
    await t.as('agent1').post(`${base}/${made.plain.id}/close`)
    // made.plus (urgent: first response due in 60 minutes) is now breached; the others are not.
    t.clock.advance(2 * 3_600_000)
  })
  afterAll(() => t?.close())

  const csv = (body: unknown, init: { headers?: Record<string, string> } = {}, user = 'agent1') =>
    t.as(user).post(exportPath, body, init)

  it('streams every ticket as text/csv with the exact header, as an attachment, never enveloped', async () => {
    const res = await csv({})
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8')
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="tickets-\d{8}T\d{6}Z\.csv"$/)
    expect(res.text.startsWith(`${HEADER}\r\n`)).toBe(true)
    const rows = records(res.text)
    expect(rows.map((r) => r.id).sort()).toEqual(
      Object.values(made)
        .map((m) => m.id)
        .sort(),
    )
    // Newest first, as the list.
    expect(rows[0]!.id).toBe(made.plain.id)
    const plain = rows.find((r) => r.id === made.plain.id)!
    expect(plain).toMatchObject({
      number: String(made.plain.number),
      title: 'Plain title',
      status: 'closed',
      priority: 'normal',
      requester_id: 'bob',
      assignee_id: 'agent1',
      queue_id: '',
      tags: '',
      sla_breached: 'false',
    })
    for (const k of ['created_at', 'first_response_at', 'resolved_at', 'closed_at'])
      expect(new Date(plain[k]!).toISOString()).toBe(plain[k]!)
    expect(rows.find((r) => r.id === made.plus.id)!.sla_breached).toBe('true')
    expect(rows.find((r) => r.id === made.at.id)!).toMatchObject({ sla_breached: 'false', closed_at: '' })
    const v2 = await t.as('agent1').post(exportPath.replace('/v1/', '/v2/'), {})
    expect(v2.headers.get('content-type')).toBe('text/csv; charset=utf-8')
    expect(v2.text).toBe(res.text)
  })

  it("prints each ticket's times and SLA flag exactly as the API shows that ticket", async () => {
    // The cells are printed by PostgreSQL (export-csv.ts), the API's by JavaScript: they must agree.
    const rows = records((await csv({})).text)
    expect(rows).toHaveLength(Object.keys(made).length)
    for (const row of rows) {
      const res = await t.as('agent1').get(`${base}/${row.id}`)
      expect(res.status).toBe(200)
      const tk = res.body
      expect(row).toMatchObject({
        number: String(tk.number),
        status: tk.status,
        priority: tk.priority,
        requester_id: tk.requester_id,
        assignee_id: tk.assignee_id ?? '',
        created_at: tk.created_at,
        first_response_at: tk.first_response_at ?? '',
        resolved_at: tk.resolved_at ?? '',
        closed_at: tk.closed_at ?? '',
        sla_breached: String(tk.sla.first_response_breached || tk.sla.resolution_breached),
      })
    }
  })

  it('neutralises cells a spreadsheet would run as formulas and ;-joins tags', async () => {
    const rows = records((await csv({})).text)
    const title = (m: any) => rows.find((r) => r.id === m.id)!.title
    expect(title(made.formula)).toBe("'=1+1")
    expect(title(made.plus)).toBe("'+x")
    expect(title(made.minus)).toBe("'-x")
    expect(title(made.at)).toBe("'@x")
    expect(rows.find((r) => r.id === made.formula.id)!.tags).toBe("'=cmd;ok")
    expect(rows.find((r) => r.id === made.quoted.id)!.tags).toBe('hw;printer')
    expect(rows.find((r) => r.id === made.minus.id)!.tags).toBe('vpn')
  })

  it('quotes commas, quotes and line breaks per RFC 4180', async () => {
    const res = await csv({ ids: [made.quoted.id] })
    expect(res.text).toContain('"Printer, ""Laser"" 3\nsecond line\r\nthird"')
    const rows = records(res.text)
    expect(rows).toHaveLength(1)
    expect(rows[0]!.title).toBe('Printer, "Laser" 3\nsecond line\r\nthird')
  })

  it('applies the list filters', async () => {
    const ids = async (filters: Record<string, unknown>) =>
      records((await csv({ filters })).text)
        .map((r) => r.id)
        .sort()
    const sorted = (...m: any[]) => m.map((x) => x.id).sort()
    expect(await ids({ requester_id: 'bob' })).toEqual(sorted(made.minus, made.at, made.plain))
    expect(await ids({ status: 'closed' })).toEqual(sorted(made.plain))
    expect(await ids({ priority: 'urgent' })).toEqual(sorted(made.plus))
    expect(await ids({ tag: 'printer' })).toEqual(sorted(made.quoted))
    expect(await ids({ assignee_id: 'none', requester_id: 'bob' })).toEqual(sorted(made.minus, made.at))
    expect(await ids({ q: 'laser' })).toEqual(sorted(made.quoted))
    expect(await ids({ until: '2000-01-01' })).toEqual([])
    const bySort = records((await csv({ filters: { sort: 'number' } })).text).map((r) => Number(r.number))
    expect(bySort).toEqual([...bySort].sort((a, b) => a - b))
  })

  it('exports the given ids (or numbers), and with filters too, both apply', async () => {
    const byIds = records((await csv({ ids: [made.formula.id, String(made.minus.number)] })).text).map((r) => r.id)
    expect(byIds.sort()).toEqual([made.formula.id, made.minus.id].sort())
    const both = records((await csv({ ids: [made.formula.id, made.minus.id], filters: { requester_id: 'bob' } })).text)
    expect(both.map((r) => r.id)).toEqual([made.minus.id])
    expect(records((await csv({ ids: [] })).text)).toEqual([])
  })

  it('is staff only: a requester is 403, even for their own tickets', async () => {
    const res = await csv({ filters: { requester_id: 'alice' } }, {}, 'alice')
    expect(res.status).toBe(403)
    expect(res.body.error.code).toBe('AUTHORIZATION_ERROR')
  })

  it('needs tickets:read on an API key', async () => {
    const refused = await t.post(exportPath, {}, { headers: keyHeader('agent1', 'tickets:write') })
    expect(refused.status).toBe(403)
    expect(refused.body.error.details).toEqual({ required: 'tickets:read', granted: ['tickets:write'] })
    const allowed = await t.post(exportPath, {}, { headers: keyHeader('agent1', 'tickets:read') })
    expect(allowed.status).toBe(200)
    expect(allowed.text.startsWith(HEADER)).toBe(true)
    // A requester's key never exceeds its owner's role.
    expect((await t.post(exportPath, {}, { headers: keyHeader('alice', 'tickets:read') })).status).toBe(403)
  })

  it('refuses a bad filter or id with 422 naming it', async () => {
    const field = async (body: unknown) => {
      const res = await csv(body)
      expect(res.status).toBe(422)
      expect(res.body.error.code).toBe('VALIDATION_ERROR')
      return res.body.error.details.field
    }
    expect(await field({ filters: { status: 'lost' } })).toBe('filters.status')
    expect(await field({ filters: { queue_id: 'not-a-uuid' } })).toBe('filters.queue_id')
    expect(await field({ filters: { since: 'yesterday' } })).toBe('filters.since')
    expect(await field({ filters: { since: '2026-02-30' } })).toBe('filters.since')
    expect(await field({ filters: { sort: 'title' } })).toBe('filters.sort')
    expect(await field({ filters: { limit: 10 } })).toBe('filters.limit')
    expect(await field({ ids: ['not-an-id'] })).toBe('ids.0')
    expect(await field({ ids: 'x' })).toBe('ids')
  })
})

describe('streaming', () => {
  const ROWS = 20_000
  let t: TestApp
  let dataDir: string
  // The test holds the cursor after its second batch until it lets go.
  let hold: Promise<void> | undefined
  let held: (() => void) | undefined
  let batches = 0
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'omnistack-export-'))
    t = await testApp({
      plugins: [
        users,
        createFilesPlugin(),
        createTicketsPlugin({
          onExportBatch: async () => {
            batches++
            if (batches === 2 && hold) {
              held?.()
              await hold
            }
          },
        }),
        scopedKeys,
      ],
      env: { DATA_DIR: dataDir, RATE_LIMIT_DEFAULT: '100000/minute' },
    })
    const sql = t.app.db.sql
    await sql`insert into users (id, email, role) values ('agent1', 'agent1@example.com', 'agent'), ('alice', 'alice@example.com', 'user')`
    await sql`insert into tickets (title, description, requester_id, tags)
      select 'Bulk ticket ' || g, 'Generated', 'alice', array['bulk'] from generate_series(1, ${ROWS}) g`
  }, 120_000)
  afterAll(async () => {
    await t?.close()
    rmSync(dataDir, { recursive: true, force: true })
  })

  const post = (url: string, token: string) =>
    fetch(`${url}/api/v1/app/tickets/export`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{}',
    })

  it(`sends the first bytes while the cursor is still being read, then all ${ROWS} rows`, async () => {
    const server = serve(t.app, { port: 0, hostname: '127.0.0.1', signals: false })
    try {
      batches = 0
      let release!: () => void
      hold = new Promise<void>((r) => (release = r))
      const reached = new Promise<void>((r) => (held = r))
      const res = await post(server.url, await t.token('agent1'))
      expect(res.status).toBe(200)
      const reader = res.body!.getReader()
      const decoder = new TextDecoder()
      const first = await reader.read()
      expect(first.done).toBe(false)
      let text = decoder.decode(first.value, { stream: true })
      expect(text.startsWith(`${HEADER}\r\n`)).toBe(true)
      // The server is parked inside the cursor after its second batch: at most 2 * EXPORT_BATCH rows read.
      expect(ROWS).toBeGreaterThan(2 * EXPORT_BATCH)
      await reached
      expect(batches).toBe(2)
      release()
      for (;;) {
        const chunk = await reader.read()
        if (chunk.done) break
        text += decoder.decode(chunk.value, { stream: true })
      }
      text += decoder.decode()
      expect(batches).toBe(Math.ceil(ROWS / EXPORT_BATCH))
      const lines = text.split('\r\n')
      expect(lines.pop()).toBe('')
      expect(lines).toHaveLength(ROWS + 1)
      expect(new Set(lines.slice(1).map((l) => l.split(',')[0])).size).toBe(ROWS)
    } finally {
      hold = undefined
      await server.shutdown()
    }
  }, 120_000)

  it('ends the cursor and its transaction when the client walks away', async () => {
    // A fresh server: shutdown() above stopped the app it served, so this test uses its own.
    const dir = mkdtempSync(join(tmpdir(), 'omnistack-export-'))
    const app = await testApp({
      plugins: [users, createFilesPlugin(), createTicketsPlugin(), scopedKeys],
      env: { DATA_DIR: dir, RATE_LIMIT_DEFAULT: '100000/minute' },
    })
    const server = serve(app.app, { port: 0, hostname: '127.0.0.1', signals: false })
    try {
      const sql = app.app.db.sql
      await sql`insert into users (id, email, role) values ('agent1', 'agent1@example.com', 'agent'), ('alice', 'alice@example.com', 'user')`
      await sql`insert into tickets (title, description, requester_id)
        select 'Bulk ticket ' || g, 'Generated', 'alice' from generate_series(1, ${ROWS}) g`
      const controller = new AbortController()
      const res = await fetch(`${server.url}/api/v1/app/tickets/export`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await app.token('agent1')}`, 'content-type': 'application/json' },
        body: '{}',
        signal: controller.signal,
      })
      const reader = res.body!.getReader()
      expect((await reader.read()).done).toBe(false)
      controller.abort()
      await reader.cancel().catch(() => {})
      // On the embedded database a cursor left open would hold its only connection: this would never answer.
      const list = await app.as('agent1').get(`${base}?limit=1`)
      expect(list.status).toBe(200)
      expect(list.body.items).toHaveLength(1)
    } finally {
      await server.shutdown()
      rmSync(dir, { recursive: true, force: true })
    }
  }, 120_000)
})

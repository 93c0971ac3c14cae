/**
 * MCP at /app/mcp (docs/plugins/tickets.md#mcp), driven by the official SDK's client over its
 * Streamable HTTP transport against a real server on loopback: initialize, tools/list, every tool
 * as a requester and as an agent, API-key scopes, refusals as `isError` results, malformed
 * requests as JSON-RPC errors, the Origin check, GET's server information, never enveloped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { serve, type RunningServer } from '../../../core/runtime/index.ts'
import { scopedKeys, testApp, type TestApp } from '../../../core/testing/index.ts'
import { createFilesPlugin } from '../../files/index.ts'
import users from '../../users/index.ts'
import { createTicketsPlugin } from '../index.ts'

const ORIGIN = 'https://helpdesk.example.com'
let t: TestApp
let server: RunningServer
let dataDir: string
const clients: Client[] = []

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'omnistack-mcp-'))
  t = await testApp({
    plugins: [users, createFilesPlugin(), createTicketsPlugin(), scopedKeys],
    env: { DATA_DIR: dataDir, RATE_LIMIT_DEFAULT: '100000/minute', CORS_ORIGINS: ORIGIN },
  })
  const sql = t.app.db.sql
  for (const [id, role] of [
    ['agent1', 'agent'],
    ['admin1', 'admin'],
    ['alice', 'user'],
    ['bob', 'user'],
  ] as const)
    await sql`insert into users (id, email, full_name, role) values (${id}, ${`${id}@example.com`}, ${id}, ${role})`
  server = serve(t.app, { port: 0, hostname: '127.0.0.1', signals: false })
})
afterAll(async () => {
  for (const c of clients) await c.close().catch(() => {})
  await t?.close()
  rmSync(dataDir, { recursive: true, force: true })
})

const url = (version = 'v1') => new URL(`${server.url}/api/${version}/app/mcp`)

/** An SDK client connected (initialize done) as `who`: a user id, or an API key. */
async function connect(who: { user: string } | { key: string }, version = 'v1') {
  const bearer = 'user' in who ? await t.token(who.user) : who.key
  const transport = new StreamableHTTPClientTransport(url(version), {
    requestInit: { headers: { authorization: `Bearer ${bearer}` } },
  })
  const client = new Client({ name: 'omnistack-test', version: '1.0.0' })
  await client.connect(transport)
  clients.push(client)
  return client
}

/** A tools/call whose text content is parsed back. */
async function call(client: Client, name: string, args: Record<string, unknown> = {}) {
  const r = (await client.callTool({ name, arguments: args })) as {
    isError?: boolean
    content: { type: string; text: string }[]
    structuredContent?: unknown
  }
  const value = JSON.parse(r.content[0]!.text)
  if (r.structuredContent !== undefined) expect(r.structuredContent).toEqual(value)
  return { isError: r.isError === true, value }
}

const TOOLS = [
  'list_tickets',
  'get_ticket',
  'search_tickets',
  'create_ticket',
  'add_comment',
  'update_ticket',
  'get_statistics',
  'list_queues',
]

describe('protocol', () => {
  it('initializes and lists the eight tools, each with a JSON Schema', async () => {
    const client = await connect({ user: 'alice' })
    expect(client.getServerVersion()).toMatchObject({ name: 'omnistack-tickets' })
    expect(client.getServerCapabilities()?.tools).toBeDefined()
    const { tools } = await client.listTools()
    expect(tools.map((x) => x.name).sort()).toEqual([...TOOLS].sort())
    for (const tool of tools) {
      expect(tool.inputSchema.type).toBe('object')
      expect(tool.description).toBeTruthy()
    }
    const create = tools.find((x) => x.name === 'create_ticket')!
    expect(create.inputSchema.required).toEqual(['title', 'description'])
    expect((create.inputSchema.properties as any).title).toMatchObject({ minLength: 1, maxLength: 200 })
    expect(JSON.stringify(tools)).not.toMatch(/sql/i)
  })

  it('works the same on v2, never enveloped', async () => {
    const client = await connect({ user: 'alice' }, 'v2')
    const { value } = await call(client, 'list_tickets')
    expect(value).toHaveProperty('items')
    expect(value.data).toBeUndefined()
  })

  it('GET answers the server information and tools as plain JSON; a stream-only GET is 405', async () => {
    for (const v of ['v1', 'v2']) {
      const res = await t.as('alice').get(`/api/${v}/app/mcp`)
      expect(res.status).toBe(200)
      expect(res.body).toMatchObject({ name: 'omnistack-tickets', transport: 'streamable-http' })
      expect(res.body.tools.map((x: { name: string }) => x.name)).toEqual(TOOLS)
    }
    const stream = await t.as('alice').get('/api/v1/app/mcp', { headers: { accept: 'text/event-stream' } })
    expect(stream.status).toBe(405)
    expect(stream.body.error.code).toBe('METHOD_NOT_ALLOWED')
  })

  it('answers a malformed request with a JSON-RPC error object', async () => {
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }
    for (const raw of ['{"jsonrpc": "2.0", "method": ', '{"hello": "world"}']) {
      const res = await t.as('alice').post('/api/v1/app/mcp', undefined, { raw, headers })
      expect(res.status).toBe(400)
      expect(res.body).toMatchObject({ jsonrpc: '2.0', id: null })
      // Parse error or invalid request, as the JSON-RPC 2.0 specification numbers them.
      expect([-32700, -32600]).toContain(res.body.error.code)
    }
    const unknown = await t
      .as('alice')
      .post('/api/v2/app/mcp', { jsonrpc: '2.0', id: 7, method: 'tickets/drop_table', params: {} }, { headers })
    expect(unknown.status).toBe(200)
    expect(unknown.body).toEqual({ jsonrpc: '2.0', id: 7, error: { code: -32601, message: 'Method not found' } })
  })

  it('refuses an Origin outside CORS_ORIGINS (403) and serves one inside it', async () => {
    const body = { jsonrpc: '2.0', id: 1, method: 'tools/list' }
    const headers = { accept: 'application/json, text/event-stream' }
    const evil = await t
      .as('alice')
      .post('/api/v1/app/mcp', body, { headers: { ...headers, origin: 'https://evil.example' } })
    expect(evil.status).toBe(403)
    expect(evil.body.error.code).toBe('AUTHORIZATION_ERROR')
    const get = await t.as('alice').get('/api/v1/app/mcp', { headers: { origin: 'https://evil.example' } })
    expect(get.status).toBe(403)
    const ok = await t.as('alice').post('/api/v1/app/mcp', body, { headers: { ...headers, origin: ORIGIN } })
    expect(ok.status).toBe(200)
    expect(ok.body.result.tools).toHaveLength(8)
  })

  it('needs a bearer like every /app route', async () => {
    const res = await fetch(url(), {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    })
    expect(res.status).toBe(401)
  })
})

describe('tools as a requester', () => {
  it('creates (source mcp), reads, searches, comments and edits their own tickets only', async () => {
    const alice = await connect({ user: 'alice' })
    const created = await call(alice, 'create_ticket', { title: 'Laptop fan noise', description: 'Loud whirring' })
    expect(created.isError).toBe(false)
    expect(created.value).toMatchObject({ title: 'Laptop fan noise', requester_id: 'alice', source: 'mcp' })
    const id = created.value.id as string

    const got = await call(alice, 'get_ticket', { id: created.value.number })
    expect(got.value.ticket.id).toBe(id)
    expect(got.value.comments).toEqual([])

    const comment = await call(alice, 'add_comment', { ticket_id: id, body_md: 'Since the update' })
    expect(comment.value).toMatchObject({ ticket_id: id, author_id: 'alice', is_internal: false })
    const updated = await call(alice, 'update_ticket', { ticket_id: id, title: 'Laptop fan very loud' })
    expect(updated.value.title).toBe('Laptop fan very loud')

    const list = await call(alice, 'list_tickets', { limit: 5 })
    expect(list.value).toMatchObject({ skip: 0, limit: 5 })
    expect(list.value.items.every((x: { requester_id: string }) => x.requester_id === 'alice')).toBe(true)
    const found = await call(alice, 'search_tickets', { query: 'whirring' })
    expect(found.value.items.map((x: { id: string }) => x.id)).toEqual([id])

    // Bob's ticket does not exist for Alice; staff-only fields and tools are refused as tool errors.
    const bob = await connect({ user: 'bob' })
    const bobs = (await call(bob, 'create_ticket', { title: 'Bob', description: 'Private whirring' })).value
    for (const [name, args] of [
      ['get_ticket', { id: bobs.id }],
      ['add_comment', { ticket_id: bobs.id, body_md: 'hi' }],
      ['update_ticket', { ticket_id: bobs.id, title: 'mine now' }],
    ] as const) {
      const r = await call(alice, name, args)
      expect(r).toMatchObject({ isError: true, value: { error: { code: 'NOT_FOUND' } } })
    }
    expect((await call(alice, 'search_tickets', { query: 'whirring' })).value.total).toBe(1)
    const note = await call(alice, 'add_comment', { ticket_id: id, body_md: 'x', is_internal: true })
    expect(note).toMatchObject({
      isError: true,
      value: { error: { code: 'AUTHORIZATION_ERROR', details: { field: 'is_internal' } } },
    })
    const status = await call(alice, 'update_ticket', { ticket_id: id, status: 'resolved' })
    expect(status.value.error).toMatchObject({ code: 'AUTHORIZATION_ERROR', details: { field: 'status' } })
    for (const name of ['get_statistics', 'list_queues']) {
      const r = await call(alice, name)
      expect(r).toMatchObject({ isError: true, value: { error: { code: 'AUTHORIZATION_ERROR' } } })
    }
  })

  it('checks arguments against the tool schema (a tool error naming the field)', async () => {
    const alice = await connect({ user: 'alice' })
    const long = await call(alice, 'create_ticket', { title: 'x'.repeat(201), description: 'd' })
    expect(long).toMatchObject({
      isError: true,
      value: { error: { code: 'VALIDATION_ERROR', details: { field: 'title' } } },
    })
    const extra = await call(alice, 'list_tickets', { sql: 'drop table tickets' })
    expect(extra.value.error.code).toBe('VALIDATION_ERROR')
    const missing = await call(alice, 'get_ticket', {})
    expect(missing.value.error).toMatchObject({ code: 'VALIDATION_ERROR', details: { field: 'id' } })
    const unknown = await call(alice, 'run_sql', { query: 'select 1' })
    expect(unknown).toMatchObject({ isError: true, value: { error: { code: 'NOT_FOUND' } } })
  })
})

describe('tools as staff', () => {
  it('sees every ticket and internal notes, writes notes, changes any field, lists queues and statistics', async () => {
    const alice = await connect({ user: 'alice' })
    const agent = await connect({ user: 'agent1' })
    const tk = (await call(alice, 'create_ticket', { title: 'VPN down', description: 'Cannot connect' })).value
    const note = await call(agent, 'add_comment', {
      ticket_id: tk.id,
      body_md: 'INTERNAL: flaky gateway',
      is_internal: true,
    })
    expect(note.value.is_internal).toBe(true)
    await call(agent, 'add_comment', { ticket_id: tk.id, body_md: 'Looking into it' })
    const seenByAgent = await call(agent, 'get_ticket', { id: tk.id })
    expect(seenByAgent.value.comments.map((c: { is_internal: boolean }) => c.is_internal).sort()).toEqual([false, true])
    const seenByAlice = await call(alice, 'get_ticket', { id: tk.id })
    expect(seenByAlice.value.comments.map((c: { body_md: string }) => c.body_md)).toEqual(['Looking into it'])
    expect((await call(agent, 'search_tickets', { query: 'gateway' })).value.total).toBe(1)
    expect((await call(alice, 'search_tickets', { query: 'gateway' })).value.total).toBe(0)

    const changed = await call(agent, 'update_ticket', {
      ticket_id: tk.number,
      status: 'pending',
      priority: 'urgent',
      assignee_id: 'agent1',
      tags: ['vpn'],
    })
    expect(changed.value).toMatchObject({ status: 'pending', priority: 'urgent', assignee_id: 'agent1', tags: ['vpn'] })
    const all = await call(agent, 'list_tickets', { status: 'pending', assignee_id: 'me' })
    expect(all.value.items.map((x: { id: string }) => x.id)).toContain(tk.id)

    const onBehalf = await call(agent, 'create_ticket', { title: 'Phoned in', description: 'd', requester_id: 'bob' })
    expect(onBehalf.value).toMatchObject({ requester_id: 'bob', source: 'mcp' })

    const admin = await connect({ user: 'admin1' })
    const queue = (await t.as('admin1').post('/api/v1/app/tickets/queues', { name: 'Network' })).body
    const queues = await call(agent, 'list_queues')
    expect(queues.value.items.map((q: { id: string }) => q.id)).toEqual([queue.id])
    // The reports' StatsV2, as GET /tickets/stats answers it.
    const stats = await call(admin, 'get_statistics')
    expect(stats.isError).toBe(false)
    const http = (await t.as('admin1').get('/api/v1/app/tickets/stats')).body
    expect(Object.keys(stats.value).sort()).toEqual(Object.keys(http).sort())
    expect(stats.value.all_time.tickets_total).toBe(http.all_time.tickets_total)
    expect(stats.value.all_time.tickets_total).toBeGreaterThanOrEqual(2)
    expect((await call(agent, 'get_statistics')).isError).toBe(false)
    // An agent's key needs analytics:read as on GET /tickets/stats.
    const key = (await t.as('agent1').post('/api/v1/app/api-keys', { name: 'k', scopes: ['tickets:read'] })).body.key
    const viaKey = await connect({ key })
    expect((await call(viaKey, 'get_statistics')).value.error).toMatchObject({
      code: 'AUTHORIZATION_ERROR',
      details: { required: 'analytics:read' },
    })
  })
})

describe('API keys', () => {
  it('applies the key scopes: tickets:read reads, writing needs tickets:write', async () => {
    const key = async (scopes: string[]) =>
      (await t.as('alice').post('/api/v1/app/api-keys', { name: scopes.join(' '), scopes })).body.key as string
    const reader = await connect({ key: await key(['tickets:read']) })
    expect((await call(reader, 'list_tickets')).isError).toBe(false)
    const refused = await call(reader, 'create_ticket', { title: 'x', description: 'y' })
    expect(refused).toMatchObject({
      isError: true,
      value: { error: { code: 'AUTHORIZATION_ERROR', details: { required: 'tickets:write' } } },
    })
    const writer = await connect({ key: await key(['tickets:write']) })
    expect((await call(writer, 'list_tickets')).value.error.details.required).toBe('tickets:read')
    const made = await call(writer, 'create_ticket', { title: 'From a key', description: 'y' })
    // The MCP source wins over `api`: the ticket came through MCP.
    expect(made.value).toMatchObject({ requester_id: 'alice', source: 'mcp' })
  })
})

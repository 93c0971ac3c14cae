/**
 * MCP server at /app/mcp (docs/plugins/tickets.md#mcp): JSON-RPC 2.0 over stateless Streamable
 * HTTP, served by the official SDK (`Server` and its web-standard transport, one of each per
 * request, no session: about 0.2 ms measured). Every tool runs through the tickets service under
 * the caller's principal, so roles, ownership (someone else's ticket is "not found") and API-key
 * scopes apply as on the HTTP routes: read tools need `tickets:read`, write tools `tickets:write`.
 * A refusal is a tool result with `isError: true`; a malformed request is the SDK's JSON-RPC
 * error object. Never enveloped: the handler answers a Response. No tool runs SQL of its choosing.
 */
import { Server } from '@modelcontextprotocol/sdk/server/index.js'
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js'
import {
  CallToolRequestSchema,
  type CallToolResult,
  LATEST_PROTOCOL_VERSION,
  ListToolsRequestSchema,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js'
import { Value } from '@sinclair/typebox/value'
import {
  AppError,
  forbidden,
  hasScope,
  isStaff,
  type Logger,
  NOT_ENVELOPED,
  type Principal,
  type RouteContext,
  type Sql,
  t,
} from '../../core/index.ts'
import { CommentModel, TicketModel } from './schema.ts'
import type { TicketServices } from './routes.ts'

export const MCP_SERVER = { name: 'omnistack-tickets', version: '1.0.0' }
const R = 'tickets:read'
const W = 'tickets:write'

type TSchema = Parameters<typeof Value.Check>[0]

interface ToolDef {
  name: string
  title: string
  description: string
  scope: typeof R | typeof W
  input: TSchema
  /** `version`: the API version the request came in on (links in answers name it). */
  run(p: Principal, args: any, version: string): Promise<unknown>
}

export interface McpDeps extends Pick<TicketServices, 'tickets' | 'queues'> {
  sql: Sql
  logger: Logger
  /** CORS_ORIGINS: a request with an Origin header outside it is 403. */
  corsOrigins: readonly string[]
  /** StatsV2 of the reports (GET /tickets/stats); without it, get_statistics counts tickets by status. */
  stats?: (version: string) => Promise<unknown>
}

const ref = t.Union([t.String({ minLength: 1, maxLength: 64 }), t.Integer({ minimum: 1 })], {
  description: 'The ticket UUID or its number',
})
const limit = t.Integer({ minimum: 1, maximum: 100, default: 20, description: '1-100, default 20' })
const skip = t.Integer({ minimum: 0, maximum: 100_000, default: 0 })
const { skip: _s, limit: _l, after: _a, q: _q, ...filters } = TicketModel.listQuery.properties

function toolDefs(d: McpDeps): ToolDef[] {
  const { tickets, queues } = d
  const staffOnly = (p: Principal, what: string) => {
    if (!isStaff(p.user.role))
      throw forbidden(`${what} requires a staff role (agent, admin or superadmin)`, { required_role: 'staff' })
  }
  return [
    {
      name: 'list_tickets',
      title: 'List tickets',
      description:
        'Tickets the caller may see (a requester: their own), newest first unless `sort` says otherwise. Filters as GET /tickets.',
      scope: R,
      input: t.Object({ ...filters, skip, limit }, { additionalProperties: false }),
      run: (p, a) => tickets.list(p, { skip: 0, limit: 20, ...a }),
    },
    {
      name: 'get_ticket',
      title: 'Get a ticket',
      description:
        'One ticket by UUID or number, with its latest 50 comments (internal notes for staff only). Someone else’s ticket is not found.',
      scope: R,
      input: t.Object({ id: ref }, { additionalProperties: false }),
      async run(p, a) {
        const ticket = await tickets.get(p, String(a.id))
        const comments = await tickets.listComments(p, ticket.id, { skip: 0, limit: 50 })
        return { ticket, comments: comments.items }
      },
    },
    {
      name: 'search_tickets',
      title: 'Search tickets',
      description:
        'Full-text search (web-search syntax: quotes, -word, or) over title, description and public comments; internal notes too for staff.',
      scope: R,
      input: t.Object(
        { query: t.String({ minLength: 1, maxLength: 500 }), status: filters.status, skip, limit },
        { additionalProperties: false },
      ),
      run: (p, { query, ...a }) => tickets.list(p, { skip: 0, limit: 20, ...a, q: query }),
    },
    {
      name: 'create_ticket',
      title: 'Open a ticket',
      description:
        'Opens a ticket (source `mcp`). `queue_id` and `requester_id` (on behalf of someone) are staff only.',
      scope: W,
      input: t.Object(TicketModel.create.properties, { additionalProperties: false }),
      run: (p, a) => tickets.create(p, a, 'mcp'),
    },
    {
      name: 'add_comment',
      title: 'Comment on a ticket',
      description:
        'Adds a comment; `is_internal: true` (staff only) makes it an internal note the requester never sees. A closed ticket refuses it.',
      scope: W,
      input: t.Object({ ticket_id: ref, ...CommentModel.create.properties }, { additionalProperties: false }),
      run: (p, { ticket_id, ...a }) => tickets.addComment(p, String(ticket_id), a),
    },
    {
      name: 'update_ticket',
      title: 'Update a ticket',
      description:
        'Changes fields of a ticket as PATCH /tickets/{id}: staff any field, a requester title and description while open.',
      scope: W,
      input: t.Object({ ticket_id: ref, ...TicketModel.update.properties }, { additionalProperties: false }),
      run: (p, { ticket_id, ...a }) => tickets.update(p, String(ticket_id), a),
    },
    {
      name: 'get_statistics',
      title: 'Ticket statistics',
      description: d.stats
        ? 'Helpdesk statistics as GET /tickets/stats: created, closed and assigned per rolling window, leaderboards, the oldest unanswered ticket (staff; an API key needs analytics:read too).'
        : 'Live tickets counted by status (staff; an API key needs analytics:read too).',
      scope: R,
      input: t.Object({}, { additionalProperties: false }),
      async run(p, _a, version) {
        staffOnly(p, 'Statistics')
        if (!hasScope(p, 'analytics:read'))
          throw forbidden('Missing scope analytics:read', { required: 'analytics:read' })
        if (d.stats) return d.stats(version)
        const rows = await d.sql<{ status: string; n: number }[]>`
          select status, count(*)::int as n from tickets where deleted_at is null group by status`
        return { by_status: Object.fromEntries(rows.map((r) => [r.status, r.n])) }
      },
    },
    {
      name: 'list_queues',
      title: 'List queues',
      description: 'The queues (staff).',
      scope: R,
      input: t.Object({ skip, limit }, { additionalProperties: false }),
      async run(p, a) {
        staffOnly(p, 'Queues')
        return queues.list({ skip: 0, limit: 20, ...a })
      },
    },
  ]
}

/** JSON Schema as sent: TypeBox's symbols dropped. */
const plain = (s: TSchema) => JSON.parse(JSON.stringify(s)) as Tool['inputSchema']

const result = (value: unknown, isError = false): CallToolResult => ({
  content: [{ type: 'text', text: JSON.stringify(value) }],
  ...(value && typeof value === 'object' && !Array.isArray(value)
    ? { structuredContent: value as Record<string, unknown> }
    : {}),
  ...(isError ? { isError: true } : {}),
})

const failure = (code: string, message: string, details: Record<string, unknown> = {}) =>
  result({ error: { code, message, details } }, true)

export function createMcp(d: McpDeps) {
  const tools = toolDefs(d)
  const byName = new Map(tools.map((tool) => [tool.name, tool]))
  const listed: Tool[] = tools.map((tool) => ({
    name: tool.name,
    title: tool.title,
    description: `${tool.description} Needs ${tool.scope}.`,
    inputSchema: plain(tool.input),
    annotations: { readOnlyHint: tool.scope === R },
  }))
  const allowed = new Set(d.corsOrigins.map((o) => o.replace(/\/$/, '')))

  async function call(p: Principal, name: string, args: unknown, version = 'v1'): Promise<CallToolResult> {
    const tool = byName.get(name)
    if (!tool) return failure('NOT_FOUND', `Unknown tool ${name}`, { tool: name })
    if (!hasScope(p, tool.scope))
      return failure('AUTHORIZATION_ERROR', `Missing scope ${tool.scope}`, { required: tool.scope })
    const input = Value.Default(tool.input, structuredClone(args ?? {}))
    const first = Value.Errors(tool.input, input).First()
    if (first) {
      const field = first.path.replace(/^\//, '').replace(/\//g, '.') || 'arguments'
      return failure('VALIDATION_ERROR', `${field}: ${first.message}`, { field })
    }
    try {
      return result(await tool.run(p, input, version))
    } catch (err) {
      if (err instanceof AppError && err.status < 500)
        return failure(err.errorCode, err.message, (err.details ?? {}) as Record<string, unknown>)
      d.logger.error('tickets: MCP tool failed', { tool: name, error: err })
      return failure('INTERNAL_ERROR', 'The tool failed; try again later')
    }
  }

  return {
    tools: listed,
    call,

    /** docs/plugins/tickets.md#mcp: an Origin outside CORS_ORIGINS is refused (DNS rebinding). */
    checkOrigin(request: Request) {
      const origin = request.headers.get('origin')
      if (origin !== null && !allowed.has(origin))
        throw forbidden('Origin not allowed: add it to CORS_ORIGINS', { origin: 'not in CORS_ORIGINS' })
    },

    /** One JSON-RPC request (or notification, or batch) through a fresh, sessionless server. */
    async handle(p: Principal, request: Request, version = 'v1'): Promise<Response> {
      this.checkOrigin(request)
      const server = new Server(MCP_SERVER, {
        capabilities: { tools: { listChanged: false } },
        instructions:
          'Helpdesk tickets. Tools act as the signed-in user: a requester sees and changes only their own tickets.',
      })
      server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: listed }))
      server.setRequestHandler(CallToolRequestSchema, async (r) => call(p, r.params.name, r.params.arguments, version))
      const transport = new WebStandardStreamableHTTPServerTransport({
        sessionIdGenerator: undefined,
        enableJsonResponse: true,
      })
      await server.connect(transport)
      try {
        return await transport.handleRequest(request)
      } finally {
        await server.close()
      }
    },
  }
}

export type Mcp = ReturnType<typeof createMcp>

/** JSON-RPC 2.0 shapes, as documented (the SDK checks them). */
const jsonRpcId = t.Union([t.String(), t.Integer(), t.Null()])
const JsonRpcRequest = t.Object(
  {
    jsonrpc: t.Literal('2.0'),
    id: t.Optional(jsonRpcId),
    method: t.String({ description: 'initialize, tools/list, tools/call, ping, notifications/initialized' }),
    params: t.Optional(t.Record(t.String(), t.Unknown())),
  },
  { description: 'A JSON-RPC 2.0 request or notification (an array of them is a batch)' },
)
const JsonRpcError = t.Object({
  jsonrpc: t.Literal('2.0'),
  id: jsonRpcId,
  error: t.Object({ code: t.Integer(), message: t.String(), data: t.Optional(t.Unknown()) }),
})
const JsonRpcResponse = t.Union([
  t.Object({ jsonrpc: t.Literal('2.0'), id: jsonRpcId, result: t.Record(t.String(), t.Unknown()) }),
  JsonRpcError,
])
const rpcError = (description: string) => ({
  description,
  content: { 'application/json': { schema: JsonRpcError as {} } },
})
const ServerInfo = t.Object({
  name: t.String(),
  version: t.String(),
  protocol_version: t.String(),
  transport: t.Literal('streamable-http'),
  capabilities: t.Record(t.String(), t.Unknown()),
  tools: t.Array(
    t.Object({
      name: t.String(),
      title: t.Optional(t.String()),
      description: t.Optional(t.String()),
      inputSchema: t.Record(t.String(), t.Unknown()),
      annotations: t.Optional(t.Record(t.String(), t.Unknown())),
    }),
  ),
})

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } })

export const mcpRoutes = ({ router, version }: RouteContext<any>, mcp: Mcp) =>
  router('/mcp')
    .get(
      '',
      ({ request }) => {
        mcp.checkOrigin(request)
        const accept = request.headers.get('accept') ?? ''
        // An MCP client probing for a server-to-client stream: none here (stateless), as the spec allows.
        if (accept.includes('text/event-stream') && !accept.includes('application/json'))
          throw new AppError(
            'METHOD_NOT_ALLOWED',
            'This MCP server offers no event stream: POST JSON-RPC requests',
            { allow: 'GET, POST' },
            { allow: 'GET, POST' },
          )
        return json({
          name: MCP_SERVER.name,
          version: MCP_SERVER.version,
          protocol_version: LATEST_PROTOCOL_VERSION,
          transport: 'streamable-http',
          capabilities: { tools: { listChanged: false } },
          tools: mcp.tools,
        })
      },
      {
        scope: R,
        detail: {
          ...{ [NOT_ENVELOPED]: true },
          summary: 'MCP server information and tools',
          description:
            'The server, its protocol version and every tool with its JSON Schema, as JSON (never enveloped). ' +
            'A request that accepts only text/event-stream (an MCP client looking for a server stream) is 405. ' +
            'An Origin header outside CORS_ORIGINS is 403.',
          responses: {
            200: { description: 'Server information', content: { 'application/json': { schema: ServerInfo as {} } } },
            405: {
              description: 'Only text/event-stream accepted: this server offers no event stream (METHOD_NOT_ALLOWED)',
            },
          },
        },
      },
    )
    .post('', ({ principal, request }) => mcp.handle(principal, request, version), {
      // The SDK's transport reads the body itself: a syntax error is a JSON-RPC error, not a 400 of ours.
      parse: 'none',
      detail: {
        ...{ [NOT_ENVELOPED]: true },
        summary: 'MCP JSON-RPC endpoint (Streamable HTTP, stateless)',
        description:
          '`initialize`, `tools/list`, `tools/call` (list_tickets, get_ticket, search_tickets, create_ticket, add_comment, ' +
          'update_ticket, get_statistics, list_queues) under the caller’s role and scopes. Send ' +
          '`Accept: application/json, text/event-stream`; answers are JSON, never enveloped. A refused tool call is a ' +
          'result with `isError: true`; a malformed request is a JSON-RPC error object (400, 406 or 415). ' +
          'An Origin header outside CORS_ORIGINS is 403.',
        requestBody: {
          required: true,
          content: { 'application/json': { schema: t.Union([JsonRpcRequest, t.Array(JsonRpcRequest)]) as {} } },
        },
        responses: {
          200: {
            description: 'The JSON-RPC response (an array for a batch)',
            content: { 'application/json': { schema: t.Union([JsonRpcResponse, t.Array(JsonRpcResponse)]) as {} } },
          },
          202: { description: 'Accepted: the body held only notifications' },
          400: rpcError('Not a JSON-RPC message (JSON-RPC error -32700 or -32600)'),
          406: rpcError('Accept must list application/json and text/event-stream'),
          415: rpcError('The body must be application/json'),
        },
      },
    })

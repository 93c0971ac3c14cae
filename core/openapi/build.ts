/**
 * /openapi.json (OpenAPI 3.1): paths and schemas from Elysia's routes via @elysiajs/openapi's
 * generator, then OmniStack's facts added per route: the plugin's tag, bearer security on
 * /app and /admin, the error responses of SPEC §4 and the headers of SPEC §3 and §6.
 */
import { toOpenAPISchema } from '@elysiajs/openapi'
import type { AnyElysia } from 'elysia'
import type { AnyPlugin, Zone } from '../plugin/index.ts'

/** Who owns a mounted route, as createApp records it for every route (core/app/mount.ts). */
interface RouteOwner {
  plugin: string
  tag?: { name: string; description?: string }
  zone: Zone
}

const ERROR_SCHEMA = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'details'],
      properties: {
        code: { type: 'string', example: 'NOT_FOUND' },
        message: { type: 'string' },
        details: { type: 'object', additionalProperties: true },
      },
    },
    meta: { $ref: '#/components/schemas/Meta' },
  },
}

const META_SCHEMA = {
  type: 'object',
  description: 'v2 only',
  properties: {
    request_id: { type: 'string' },
    timestamp: { type: 'string', format: 'date-time' },
    version: { type: 'string', enum: ['v2'] },
    pagination: {
      type: 'object',
      required: ['total', 'skip', 'limit'],
      properties: {
        total: { type: 'integer' },
        skip: { type: 'integer' },
        limit: { type: 'integer' },
        total_exact: { type: 'boolean', enum: [false], description: 'Present only when the count stopped at its cap: total is a lower bound (docs/pagination.md)' },
        next_after: { type: 'string', description: 'Present only when more rows follow: the `after` cursor of the next page' },
      },
    },
  },
}

const header = (description: string, type = 'string') => ({ description, schema: { type } })
const COMMON_HEADERS = {
  'X-Request-ID': header('Echo of a valid caller id, else a new UUID'),
  'X-API-Version': header('Version that served the request'),
  'X-API-Latest-Version': header('Latest version (v2)'),
  'X-RateLimit-Limit': header('Requests allowed in the window', 'integer'),
  'X-RateLimit-Remaining': header('Requests left in the window', 'integer'),
  'X-RateLimit-Reset': header('Unix time when the window resets', 'integer'),
}

const errorRef = (description: string) => ({
  description,
  headers: COMMON_HEADERS,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
})

export function buildOpenApi(
  app: AnyElysia,
  owners: Map<string, RouteOwner>,
  plugins: readonly AnyPlugin[],
  publicUrl: string,
): Record<string, unknown> {
  const { paths, components } = toOpenAPISchema(app) as unknown as {
    paths: Record<string, Record<string, Record<string, unknown>>>
    components: Record<string, Record<string, unknown>>
  }
  for (const [path, ops] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const elysiaPath = path.replace(/\{([^}]+)\}/g, ':$1')
      const owner = owners.get(`${method.toUpperCase()} ${elysiaPath}`)
      if (!owner) {
        delete ops[method]
        continue
      }
      if (owner.tag) op.tags = [owner.tag.name]
      if (owner.zone !== 'public') op.security = [{ bearerAuth: [] }]
      const responses = (op.responses ??= {}) as Record<string, Record<string, unknown>>
      for (const r of Object.values(responses)) r.headers ??= COMMON_HEADERS
      if (Object.keys(responses).length === 0) responses['200'] = { description: 'OK', headers: COMMON_HEADERS }
      responses['400'] ??= errorRef('Bad request (malformed JSON, unknown API version)')
      if (owner.zone !== 'public') {
        responses['401'] ??= errorRef('Missing or invalid bearer token')
        responses['403'] ??= errorRef('Insufficient role or scope, or deactivated user')
      }
      responses['422'] ??= errorRef('Validation failed (details.field names the first failing field)')
      // SPEC §6: health, readiness and metrics are never rate-limited.
      if (!/\/public\/(health|metrics)/.test(path)) responses['429'] ??= errorRef('Rate limit exceeded (Retry-After)')
      responses['500'] ??= errorRef('Internal error (details.request_id)')
    }
  }
  for (const [path, ops] of Object.entries(paths)) if (Object.keys(ops).length === 0) delete paths[path]
  return {
    openapi: '3.1.0',
    info: {
      title: 'OmniStack API',
      version: '2.0.0',
      description:
        'Every route is served under /api/v1 (raw bodies) and /api/v2 ({data, meta} envelope); ' +
        'unversioned /api/... picks the version from Accept-Version or X-API-Version.',
    },
    servers: [{ url: publicUrl }],
    tags: plugins.filter((p) => p.tag).map((p) => ({ name: p.tag!.name, description: p.tag!.description })),
    paths,
    components: {
      ...components,
      schemas: { ...(components?.schemas ?? {}), Error: ERROR_SCHEMA, Meta: META_SCHEMA },
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT or osk_ API key' },
      },
    },
  }
}

/**
 * The components every operation refers to (error bodies, the v2 meta and pagination, the
 * docs/versioning.md#envelopes headers) and the responses built from them: an error status with
 * its catalogue example, and the v2 envelope around a declared v1 body (docs/versioning.md).
 */
import { ERROR_CODES } from '../errors/index.ts'
import { codesFor, STATUS_TEXT } from './operations.ts'

export type Json = Record<string, any>
export type ApiDocVersion = 'v1' | 'v2'

const REF = (name: string) => ({ $ref: `#/components/schemas/${name}` })
const EXAMPLE_TIME = '2026-03-14T09:26:53.000Z'
const EXAMPLE_REQUEST_ID = '0b7e6c1a-5d4f-4e2b-9a3c-8f1d2e3c4b5a'

const PAGINATION_SCHEMA = {
  type: 'object',
  required: ['total', 'skip', 'limit'],
  properties: {
    total: {
      type: 'integer',
      minimum: 0,
      description: 'Rows matching the filters (a lower bound when total_exact is false)',
    },
    skip: { type: 'integer', minimum: 0 },
    limit: { type: 'integer', minimum: 0 },
    total_exact: {
      type: 'boolean',
      enum: [false],
      description: 'Present only when the count stopped at its cap: total is a lower bound (docs/pagination.md)',
    },
    next_after: {
      type: 'string',
      description: 'Present only when more rows follow: the `after` cursor of the next page',
    },
  },
}

const metaProperties = {
  request_id: { type: 'string', description: 'Equals the X-Request-ID header' },
  timestamp: { type: 'string', format: 'date-time' },
  version: { type: 'string', enum: ['v2'] },
}
const META_SCHEMA = {
  type: 'object',
  description: 'v2 response metadata',
  required: ['request_id', 'timestamp', 'version'],
  properties: { ...metaProperties, pagination: REF('Pagination') },
}
const PAGED_META_SCHEMA = {
  type: 'object',
  description: 'v2 metadata of a list: the page counts in `pagination`',
  required: ['request_id', 'timestamp', 'version', 'pagination'],
  properties: { ...metaProperties, pagination: REF('Pagination') },
}
const ERROR_BODY_SCHEMA = {
  type: 'object',
  required: ['code', 'message', 'details'],
  properties: {
    code: { type: 'string', enum: Object.keys(ERROR_CODES), description: 'The error catalogue (docs/errors.md)' },
    message: { type: 'string' },
    details: { type: 'object', additionalProperties: true },
  },
}
/** v1 errors: {error}. v2 errors: {error, meta}. */
const ERROR_SCHEMA = { type: 'object', required: ['error'], properties: { error: REF('ErrorBody') } }
const ERROR_V2_SCHEMA = {
  type: 'object',
  required: ['error', 'meta'],
  properties: { error: REF('ErrorBody'), meta: REF('Meta') },
}

const header = (description: string, type = 'string') => ({ description, schema: { type } })
const HEADERS: Record<string, Json> = {
  'X-Request-ID': header('Echo of a valid caller id, else a new UUID'),
  'X-API-Version': header('Version that served the request'),
  'X-API-Latest-Version': header('Latest version (v2)'),
  'X-RateLimit-Limit': header('Requests allowed in the window', 'integer'),
  'X-RateLimit-Remaining': header('Requests left in the window', 'integer'),
  'X-RateLimit-Reset': header('Unix time when the window resets', 'integer'),
  'Retry-After': header('Seconds to wait before retrying', 'integer'),
}
export const headerRefs = (rateLimited: boolean, extra: string[] = []) => {
  const names = ['X-Request-ID', 'X-API-Version', 'X-API-Latest-Version']
  if (rateLimited) names.push('X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset')
  names.push(...extra)
  return Object.fromEntries(names.map((n) => [n, { $ref: `#/components/headers/${n}` }]))
}

const metaExample = (paged?: Json) => ({
  request_id: EXAMPLE_REQUEST_ID,
  timestamp: EXAMPLE_TIME,
  version: 'v2',
  ...(paged ? { pagination: paged } : {}),
})

const ERROR_EXAMPLE_DETAILS: Record<string, Json> = {
  '404': { resource: 'project' },
  '414': { max_bytes: 8192 },
  '422': { field: 'name', reason: 'Expected string length greater or equal to 1' },
  '429': { retry_after: 42 },
  '431': { max_bytes: 32768 },
  '500': { request_id: EXAMPLE_REQUEST_ID },
  '503': { retry_after: 2 },
}

export function errorResponse(
  status: string,
  version: ApiDocVersion,
  rateLimited: boolean,
  description?: string,
): Json {
  const code = codesFor(Number(status))[0] ?? 'INTERNAL_ERROR'
  const error = { code, message: ERROR_CODES[code].message, details: ERROR_EXAMPLE_DETAILS[status] ?? {} }
  const example = version === 'v2' ? { error, meta: metaExample() } : { error }
  return {
    description: description ?? STATUS_TEXT[status] ?? 'Error',
    headers: headerRefs(rateLimited, status === '429' || status === '503' ? ['Retry-After'] : []),
    content: { 'application/json': { schema: REF(version === 'v2' ? 'ErrorV2' : 'Error'), example } },
  }
}

/** A v1 list body as page() makes it: {items: [...], total, skip, limit}. */
export function isPageSchema(s: Json | undefined): boolean {
  const p = s?.properties
  return !!p && p.items?.type === 'array' && !!p.total && !!p.skip && !!p.limit
}

/** The v2 envelope around a declared v1 body schema. */
export function envelopeSchema(body: Json | undefined): Json {
  if (body && isPageSchema(body)) {
    return {
      type: 'object',
      required: ['data', 'meta'],
      properties: { data: body.properties.items, meta: REF('PagedMeta') },
    }
  }
  return { type: 'object', required: ['data', 'meta'], properties: { data: body ?? {}, meta: REF('Meta') } }
}

export function envelopeExample(body: Json | undefined, v1: unknown): unknown {
  if (v1 === undefined) return undefined
  if (body && isPageSchema(body) && v1 && typeof v1 === 'object') {
    const { items, total, skip, limit } = v1 as Json
    return { data: items, meta: metaExample({ total, skip, limit }) }
  }
  return { data: v1, meta: metaExample() }
}

/** `components` of a new document: the schemas and headers above, and the bearer scheme. */
export const components = () => ({
  schemas: {
    ErrorBody: ERROR_BODY_SCHEMA,
    Error: ERROR_SCHEMA,
    ErrorV2: ERROR_V2_SCHEMA,
    Meta: META_SCHEMA,
    PagedMeta: PAGED_META_SCHEMA,
    Pagination: PAGINATION_SCHEMA,
  },
  headers: HEADERS,
  securitySchemes: {
    bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT or osk_ API key' },
  },
})

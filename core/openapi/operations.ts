/**
 * Per-operation facts the core knows without the plugin writing them: a readable operationId,
 * and every error status a route can answer (docs/versioning.md#headers-on-every-api-response, docs/errors.md, docs/rate-limits.md), each with the catalogue's code.
 */
import { ERROR_CODES, type ErrorCode } from '../errors/index.ts'
import type { Zone } from '../plugin/index.ts'

const METHOD_ACTION: Record<string, string> = { get: 'get', patch: 'update', put: 'put', delete: 'delete' }

/**
 * `projects_list`, `projects_get`, `projects_create`, `admin_users_deactivate`: the path's fixed
 * segments after the zone (admin routes prefixed `admin_`), then the action. Stable: it depends
 * on the method and path only, and the same route has the same id in v1 and v2.
 */
export function operationIdFor(
  method: string,
  path: string,
  zone: Zone,
  shape: { isList: boolean; hasItemPath: boolean; hasGet: boolean },
): string {
  const rest = path.replace(/^\/api\/v\d+\/(public|app|admin)\/?/, '')
  const segments = rest.split('/').filter(Boolean)
  const endsWithParam = segments.length > 0 && /^\{.+\}$/.test(segments.at(-1)!)
  const words = segments
    .filter((s) => !/^\{.+\}$/.test(s))
    .map((s) => s.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_|_$/g, ''))
  if (zone === 'admin') words.unshift('admin')
  const m = method.toLowerCase()
  let action: string | undefined
  if (m === 'get') action = endsWithParam ? 'get' : shape.isList || shape.hasItemPath ? 'list' : 'get'
  else if (m === 'post')
    action =
      !endsWithParam && (shape.hasItemPath || shape.hasGet) ? 'create' : words.length === 1 ? 'submit' : undefined
  else action = METHOD_ACTION[m] ?? m
  if (action) words.push(action)
  return words.join('_').toLowerCase() || m
}

/** The catalogue's codes answered with `status` (its own first). */
export const codesFor = (status: number): ErrorCode[] =>
  (Object.keys(ERROR_CODES) as ErrorCode[]).filter((c) => ERROR_CODES[c].status === status)

export const STATUS_TEXT: Record<string, string> = {
  '400': 'Bad request (malformed JSON or body)',
  '401': 'Missing or invalid bearer token (AUTHENTICATION_ERROR)',
  '403': 'Insufficient role or scope, or deactivated user (AUTHORIZATION_ERROR)',
  '404': 'No such resource, or not yours (NOT_FOUND)',
  '409': 'Conflict, or an Idempotency-Key reused with another body or still in flight (CONFLICT)',
  '413': 'Body larger than the limit (PAYLOAD_TOO_LARGE)',
  '414': 'Request URL longer than MAX_URL_BYTES (URI_TOO_LONG)',
  '415': 'Unsupported content type (UNSUPPORTED_MEDIA_TYPE)',
  '422': 'Validation failed; details.field names the first failing field (VALIDATION_ERROR)',
  '426': 'A plain HTTP request to the WebSocket route (UPGRADE_REQUIRED, with `Upgrade: websocket`)',
  '429': 'Rate limit exceeded; retry after Retry-After seconds (RATE_LIMIT_EXCEEDED)',
  '431': 'Request headers larger than MAX_HEADER_BYTES together (HEADERS_TOO_LARGE)',
  '500': 'Internal error; details.request_id identifies it (INTERNAL_ERROR)',
  '502': 'An external service failed (EXTERNAL_SERVICE_ERROR)',
  '503': 'Not configured, not ready, or a dependency (database, Redis) down right now (SERVICE_UNAVAILABLE)',
}

/** Plugins whose provider may be unconfigured: their routes can answer 503 naming the variable. */
const OPTIONAL_PROVIDERS = new Set(['ai', 'billing'])

export interface OperationFacts {
  method: string
  path: string
  zone: Zone
  plugin: string
  hasBody: boolean
  hasParams: boolean
  /** An organization resolver is registered: /app operations read X-Organization-ID (docs/auth.md#organizations). */
  organizations?: boolean
}

/** The header of an organization (docs/auth.md#organizations) that /app operations take when a resolver is registered. */
export const ORG_PARAMETER = {
  name: 'X-Organization-ID',
  in: 'header',
  required: false,
  description:
    'The organization to act in (docs/auth.md#organizations): 404 when the caller is not a member, 400 when not a UUID. Absent: the caller acts as themselves.',
  schema: { type: 'string', format: 'uuid' },
}

/** Error statuses the core and the pipeline can answer for this operation. */
export function errorStatuses(op: OperationFacts): string[] {
  const s = new Set<string>()
  const m = op.method.toLowerCase()
  if (op.hasBody) s.add('400').add('413').add('422')
  if (op.hasParams) s.add('422')
  if (op.zone !== 'public') s.add('401').add('403')
  if (/\{[^}]+\}/.test(op.path)) s.add('404')
  if (m === 'post' && op.zone === 'app') s.add('409').add('422')
  // docs/auth.md#organizations: a malformed X-Organization-ID is 400, a foreign organization 404.
  if (op.organizations && op.zone === 'app') s.add('400').add('404')
  // docs/rate-limits.md#classes: health, readiness and metrics are never rate-limited.
  if (!/\/public\/(health|metrics)/.test(op.path)) s.add('429')
  // docs/errors.md#service_unavailable: a provider not configured, or the database or Redis down
  // (authentication reads the database too); only liveness and metrics touch neither.
  if (OPTIONAL_PROVIDERS.has(op.plugin) || !/\/public\/(health|metrics)$/.test(op.path)) s.add('503')
  // docs/security.md#the-edge: refused before routing, whatever the operation.
  s.add('414').add('431')
  s.add('500')
  return [...s]
}

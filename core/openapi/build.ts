/**
 * /openapi.json (OpenAPI 3.1) and one document per version (/openapi/v1.json, /openapi/v2.json).
 * Paths, parameters and bodies come from Elysia's routes via @elysiajs/openapi's generator; the
 * core then adds what it alone knows, so a plugin declares a route's response once (`response:`
 * or `detail.responses` with jsonDoc) and nothing else:
 * - v2 success bodies are the envelope around the declared v1 body ({data, meta}; a page moves its
 *   items to `data` and its counts to `meta.pagination`); v1 keeps the declared body; 204 stays empty;
 * - every error status the route can answer (operations.ts), `error.code` an enum of the catalogue;
 * - numbers as integer/number, no `nullable`, defaulted query parameters optional (schema.ts);
 * - readable operationIds, the plugin's tag, bearer security on /app and /admin, the docs/versioning.md#envelopes headers,
 *   and examples drawn from the schemas (ISO dates, UUIDs, the real error code of each status).
 */
import { toOpenAPISchema } from '@elysiajs/openapi'
import type { AnyElysia } from 'elysia'
import type { AnyPlugin, Zone } from '../plugin/index.ts'
import {
  components,
  envelopeExample,
  envelopeSchema,
  errorResponse,
  headerRefs,
  isPageSchema,
  type Json,
} from './components.ts'
import { PRE_ROUTING, versionOf } from './documents.ts'
import { errorStatuses, operationIdFor, ORG_PARAMETER } from './operations.ts'
import { NOT_ENVELOPED } from './response-doc.ts'
import { normalizeSchema, sample } from './schema.ts'

/** Who owns a mounted route, as createApp records it for every route (core/app/mount.ts). */
interface RouteOwner {
  plugin: string
  tag?: { name: string; description?: string }
  zone: Zone
}

/** Refused before the rate-limit stage: no X-RateLimit-* (docs/rate-limits.md#headers-and-the-429). */
const BEFORE_RATE_LIMIT = new Set(['413', '414', '431'])

/** What the whole app adds to every operation of a zone. */
export interface BuildOptions {
  /** An organization resolver is registered: /app operations take X-Organization-ID (docs/auth.md#organizations). */
  organizations?: boolean
}

function rewriteOperation(
  path: string,
  method: string,
  op: Json,
  owner: RouteOwner,
  ops: Json,
  allPaths: Json,
  options: BuildOptions,
) {
  const version = versionOf(path)
  const rateLimited = !/\/public\/(health|metrics)/.test(path)
  if (owner.tag) op.tags = [owner.tag.name]
  if (owner.zone !== 'public') op.security = [{ bearerAuth: [] }]
  else op.security = []

  // Parameters: numbers, no nullable, defaulted query parameters optional.
  const params = ((op.parameters ?? []) as Json[]).map((p) => {
    const q: Json = { ...p, schema: normalizeSchema(p.schema) }
    if (q.in === 'query' && q.schema?.default !== undefined) q.required = false
    return q
  })
  const organizations = options.organizations === true && owner.zone === 'app'
  if (organizations && !params.some((p) => p.in === 'header' && p.name.toLowerCase() === 'x-organization-id'))
    params.push({ ...ORG_PARAMETER })
  if (params.length) op.parameters = params
  // Request bodies: the pipeline parses JSON; other media types are kept only for byte uploads.
  if (op.requestBody?.content) {
    const content = op.requestBody.content as Json
    const json = content['application/json']
    const kept: Json = json ? { 'application/json': json } : content
    for (const [type, media] of Object.entries(kept)) {
      media.schema = normalizeSchema(media.schema)
      if (type === 'application/json' && media.example === undefined) {
        const ex = sample(media.schema)
        if (ex !== undefined) media.example = ex
      }
    }
    op.requestBody.content = kept
  }

  // Success responses: the declared body (v1) or its envelope (v2).
  const declared = (op.responses ?? {}) as Json
  const responses: Json = {}
  for (const [status, r] of Object.entries(declared)) {
    const res: Json = { ...(r as Json) }
    const code = Number(status)
    // An error status answered with the route's own body (readiness 503) keeps its declared schema.
    if (code >= 400 && !res.content?.['application/json']?.schema) {
      const error = errorResponse(status, version, rateLimited, res.description)
      // Another media type declared beside it (an HTML page for a browser, docs/plugins/tickets.md#csat) stays listed.
      for (const [type, media] of Object.entries((res.content ?? {}) as Json))
        if (type !== 'application/json') error.content[type] = { ...media, schema: normalizeSchema(media.schema) }
      responses[status] = error
      continue
    }
    res.headers = headerRefs(rateLimited)
    const json = res.content?.['application/json']
    if (json && code !== 204) {
      const body = json.schema ? normalizeSchema(json.schema) : undefined
      const v1Example = json.example ?? (body ? sample(body) : undefined)
      const media: Json = {}
      // NOT_ENVELOPED: the route answers its own protocol (MCP's JSON-RPC) as declared, in v2 too.
      if (version === 'v2' && op[NOT_ENVELOPED] !== true) {
        media.schema = envelopeSchema(body)
        const ex = envelopeExample(body, v1Example)
        if (ex !== undefined) media.example = ex
      } else {
        media.schema = body ?? {}
        if (v1Example !== undefined) media.example = v1Example
      }
      res.content = { ...res.content, 'application/json': media }
    } else if (res.content) {
      for (const media of Object.values(res.content as Json))
        if (media.schema) media.schema = normalizeSchema(media.schema)
    }
    if (code === 204) delete res.content
    responses[status] = res
  }
  // A WebSocket route (core/realtime) declares its 101 and 426 itself.
  if (!Object.keys(responses).some((s) => Number(s) < 400)) {
    responses['200'] = { description: 'OK', headers: headerRefs(rateLimited) }
  }

  const facts = {
    method,
    path,
    zone: owner.zone,
    plugin: owner.plugin,
    hasBody: !!op.requestBody,
    hasParams: params.some((p) => p.in !== 'header' || p.name !== ORG_PARAMETER.name),
    organizations,
  }
  for (const status of errorStatuses(facts))
    responses[status] ??= errorResponse(status, version, rateLimited && !BEFORE_RATE_LIMIT.has(status))
  op.responses = Object.fromEntries(Object.entries(responses).sort(([a], [b]) => Number(a) - Number(b)))

  const ok = Object.entries(declared).find(([s]) => Number(s) >= 200 && Number(s) < 300)?.[1] as Json | undefined
  const isList =
    isPageSchema(ok?.content?.['application/json']?.schema) ||
    ok?.content?.['application/json']?.schema?.type === 'array'
  const hasItemPath = Object.keys(allPaths).some((p) => p.startsWith(`${path}/{`))
  op.operationId = operationIdFor(method, path, owner.zone, { isList, hasItemPath, hasGet: 'get' in ops })
}

/**
 * A route's `detail.responses` under what the generator made of its `response` schemas: the
 * schema wins for its statuses, the description and any other media type (an SSE stream beside
 * the JSON answer) come from `detail`.
 */
function mergeResponses(documented: Json, generated: Json): Json {
  const out: Json = { ...documented }
  for (const [status, g] of Object.entries<Json>(generated)) {
    const d = documented[status] as Json | undefined
    out[status] = d ? { ...g, description: d.description ?? g.description, content: { ...d.content, ...g.content } } : g
  }
  return out
}

export function buildOpenApi(
  app: AnyElysia,
  owners: Map<string, RouteOwner>,
  plugins: readonly AnyPlugin[],
  publicUrl: string,
  options: BuildOptions = {},
): Record<string, unknown> {
  const { paths } = toOpenAPISchema(app) as unknown as { paths: Record<string, Record<string, Json>> }
  // The generator drops `detail.responses` when the route also has a `response` schema; a route
  // may use both (`response` for its 200, `detail.responses` for a 409 or 502 of its own).
  const declared = new Map<string, Json>()
  for (const r of app.routes) {
    const responses = (r.hooks as Json | undefined)?.detail?.responses
    if (responses) declared.set(`${r.method} ${r.path}`, responses)
  }
  for (const [path, ops] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const elysiaPath = path.replace(/\{([^}]+)\}/g, ':$1')
      const key = `${method.toUpperCase()} ${elysiaPath}`
      const owner = owners.get(key)
      if (!owner) {
        delete ops[method]
        continue
      }
      const documented = declared.get(key)
      if (documented) op.responses = mergeResponses(documented, op.responses ?? {})
      rewriteOperation(path, method, op, owner, ops, paths, options)
    }
  }
  for (const [path, ops] of Object.entries(paths)) if (Object.keys(ops).length === 0) delete paths[path]
  // Operation ids are unique per version: a public route that shares its id with an /app route
  // (GET /public/files/{id} and GET /app/files/{id}) is prefixed `public_`; any other repeat is numbered.
  const all = Object.entries(paths).flatMap(([path, ops]) => Object.entries(ops).map(([m, op]) => ({ path, m, op })))
  const count = new Map<string, number>()
  for (const { path, op } of all)
    count.set(`${versionOf(path)} ${op.operationId}`, (count.get(`${versionOf(path)} ${op.operationId}`) ?? 0) + 1)
  const seen = new Set<string>()
  for (const { path, op } of all) {
    const v = versionOf(path)
    if ((count.get(`${v} ${op.operationId}`) ?? 0) > 1 && /^\/api\/v\d+\/public\//.test(path))
      op.operationId = `public_${op.operationId}`
    let id = op.operationId
    for (let n = 2; seen.has(`${v} ${id}`); n++) id = `${op.operationId}_${n}`
    op.operationId = id
    seen.add(`${v} ${id}`)
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'OmniStack API',
      version: '2.0.0',
      description:
        'Every route is served under /api/v1 (raw bodies) and /api/v2 ({data, meta} envelope); ' +
        'unversioned /api/... picks the version from Accept-Version or X-API-Version. ' +
        'One document per version: /openapi/v1.json and /openapi/v2.json. ' +
        PRE_ROUTING,
    },
    servers: [{ url: publicUrl }],
    tags: plugins.filter((p) => p.tag).map((p) => ({ name: p.tag!.name, description: p.tag!.description })),
    paths,
    components: components(),
  }
}

/**
 * Stages `preflight`, `envelope` and `headers`: what the client gets back. The envelope turns
 * the handler's value into a body (v1 raw, v2 `{data, meta}`, docs/versioning.md#envelopes); the headers stage writes
 * the version, security, CORS, trace and impersonation headers and builds the one Response.
 */
import type { Cors, Exchange, ApiVersion } from '../../http/index.ts'
import { envelope as wrap, markLongLived } from '../../http/index.ts'
import { rateHeaders } from '../../rate-limit/index.ts'

const JSON_TYPE = 'application/json'
const TEXT_TYPE = 'text/plain; charset=utf-8'

/** A CORS preflight (OPTIONS with Origin and Access-Control-Request-Method) is answered at once. */
export function preflightStage(cors: Cors) {
  return function preflight(x: Exchange): void {
    if (x.method !== 'OPTIONS') return
    const headers = x.request.headers
    if (!headers.get('access-control-request-method') || !headers.get('origin')) return
    x.response = cors.preflight(x.request)!
    x.status = 204
    x.answered = true
  }
}

const statusOf = (s: number | string | undefined) => (typeof s === 'number' ? s : 200)

/**
 * The handler's value as body, status and content type. A returned Response (a stream, a file, a
 * secret shown once) passes as it is; `return status(201, body)` arrives wrapped (docs/performance-notes.md#envelopes-belong-in-mapresponse).
 */
export function envelope(x: Exchange): void {
  let value = x.value
  let status = statusOf(x.handlerStatus)
  x.answered = true
  if (value instanceof Response) {
    x.response = value
    x.status = value.status === 200 ? status : value.status
    return
  }
  if (value && typeof value === 'object' && value.constructor?.name === 'ElysiaCustomStatusResponse') {
    const custom = value as { code: number; response: unknown }
    status = custom.code
    value = custom.response
  }
  if (value === undefined || value === null || status === 204 || status === 304) {
    if (status === 200) status = 204
  } else if (typeof value === 'string' && x.version !== 'v2') {
    // A content type the handler set for its text stays.
    if (x.handlerHeaders?.['content-type'] === undefined) x.contentType = TEXT_TYPE
    x.body = value
  } else {
    x.contentType = JSON_TYPE
    x.body = JSON.stringify(x.version === 'v2' && x.zone !== 'none' ? wrap(value, x.id) : value)
  }
  x.status = status
}

export interface HeaderSets {
  cors: Cors
  /** Per-version response headers (version, latest, deprecation) plus security headers. */
  baseHeaders: Record<ApiVersion, Record<string, string>>
  /** Security headers for non-API paths (docs, openapi.json). */
  plainHeaders: Record<string, string>
}

/**
 * Every answer, error or not: the version's or the plain set, the request id and the rate-limit
 * decision, then what other stages added (Idempotent-Replayed), CORS, traceresponse,
 * X-Impersonated-By, what the handler set, what the error carries, and the content type.
 */
export function headersStage(d: HeaderSets) {
  // The fixed sets as Headers, copied per answer: cheaper than Response reading a dozen entries
  // from a plain object. Each set also comes with the JSON content type, which nearly every
  // answer has: one `set` fewer per answer (bench/README.md#the-response-headers).
  const templates = new Map<Record<string, string>, { plain: Headers; json: Headers }>()
  for (const set of [d.plainHeaders, ...Object.values(d.baseHeaders)]) {
    templates.set(set, { plain: new Headers(set), json: new Headers({ ...set, 'content-type': JSON_TYPE }) })
  }
  return function headers(x: Exchange): void {
    const h = x.headers
    const fixed = x.zone === 'none' && !x.requestedVersion ? d.plainHeaders : d.baseHeaders[x.version]
    if (x.span?.propagated) h['traceresponse'] = x.span.traceresponse()
    const origin = x.request.headers.get('origin')
    if (origin) {
      const cors = d.cors.headersFor(origin)
      if (cors) Object.assign(h, cors)
    }
    if (x.principal?.actorId) h['x-impersonated-by'] = x.principal.actorId
    const set = x.handlerHeaders
    if (set) for (const k in set) h[k] = String(set[k])
    if (x.errorHeaders) Object.assign(h, x.errorHeaders)
    if (x.response) {
      x.response = withHeaders(x.response, { ...fixed, ...ownHeaders(x), ...h }, x.status)
      return
    }
    let body = x.body
    const type = body === null ? undefined : x.contentType
    // HEAD: the length of what GET would send, no body (as Elysia answers HEAD).
    if (body !== null && x.method === 'HEAD') {
      h['content-length'] = String(Buffer.byteLength(body))
      body = null
    }
    const template = templates.get(fixed)!
    const headers = new Headers(type === JSON_TYPE ? template.json : template.plain)
    if (x.id) headers.set('x-request-id', x.id)
    const rate = x.rate
    if (rate) {
      headers.set('x-ratelimit-limit', String(rate.limit))
      headers.set('x-ratelimit-remaining', String(rate.remaining))
      headers.set('x-ratelimit-reset', String(rate.reset))
    }
    let more = false
    for (const k in h) {
      headers.set(k, h[k]!)
      more = true
    }
    // The answer's own type has the last word, over a content type the handler set.
    if (type && (more || type !== JSON_TYPE)) headers.set('content-type', type)
    x.response = new Response(body, { status: x.status, headers })
  }
}

/** The request id and X-RateLimit-* as a record, for an answer handed over whole. */
function ownHeaders(x: Exchange): Record<string, string> {
  const own = x.rate ? rateHeaders(x.rate) : {}
  if (x.id) own['x-request-id'] = x.id
  return own
}

/** A Response handed over whole keeps its own headers; ours are added where it has none. */
function withHeaders(res: Response, h: Record<string, string>, status: number): Response {
  const headers = new Headers(res.headers)
  for (const k in h) if (!res.headers.has(k)) headers.set(k, h[k]!)
  const answer = new Response(res.body, { status, statusText: res.statusText, headers })
  // An event stream is silent between heartbeats: the runtime must not time it out.
  return headers.get('content-type')?.startsWith('text/event-stream') ? markLongLived(answer) : answer
}

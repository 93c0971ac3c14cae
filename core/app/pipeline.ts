/**
 * The request path every route shares (SPEC §3-7), as hooks on the root Elysia instance:
 * onRequest (request id, version, headers, CORS, body limit, auth, rate limit, metering),
 * onParse (bounded JSON), beforeHandle (Idempotency-Key), mapResponse (v1 raw / v2 envelope),
 * onError (the contract's error shape) and onAfterResponse (logs, metrics, span).
 */
import { Elysia } from 'elysia'
import type { Authenticator } from '../auth/authenticator.ts'
import { bearerToken } from '../auth/authenticator.ts'
import { isAdmin } from '../auth/principal.ts'
import { badRequest, errorResponse, forbidden, payloadTooLarge, toErrorView } from '../errors/index.ts'
import type { TrustedProxies } from '../http/client-ip.ts'
import { clientIp } from '../http/client-ip.ts'
import type { Cors } from '../http/cors.ts'
import { envelope } from '../http/envelope.ts'
import type { Idempotency } from '../http/idempotency.ts'
import { maybeStateOf, setState, stateOf, type RequestState } from '../http/request-state.ts'
import { requestIdFrom } from '../http/request-id.ts'
import { isApiVersion, type ApiVersion } from '../http/versioning.ts'
import type { Logger } from '../observability/logger.ts'
import type { MeterFn } from '../observability/meter.ts'
import type { Metrics } from '../observability/metrics.ts'
import type { RequestSpan, Tracing } from '../observability/tracing.ts'
import { rateHeaders, rateLimitError, type Limiter } from '../rate-limit/limiter.ts'
import type { RateResult } from '../rate-limit/types.ts'

export interface PipelineDeps {
  logger: Logger
  cors: Cors
  /** Per-version response headers (version, latest, deprecation) plus security headers. */
  baseHeaders: Record<ApiVersion, Record<string, string>>
  /** Security headers for non-API paths (docs, openapi.json). */
  plainHeaders: Record<string, string>
  authenticator: Authenticator
  limiter: Limiter
  trusted: TrustedProxies
  idempotency: Idempotency
  meter: MeterFn
  metrics: Metrics
  tracing: Tracing
  maxJsonBytes: number
  maxUploadBytes: number
  /** What App.handle learnt before routing: the socket's address, the header-requested version. */
  hint: (request: Request) => RequestHint | undefined
}

export interface RequestHint {
  peerIp?: string
  /** Version asked for by header on an unversioned /api path (may be unknown). */
  requestedVersion?: string
  span?: RequestSpan
}

const VERSIONED = /^\/api\/(v\d+)(\/.*)?$/
const STRUCTURED = /^(application\/(json|x-www-form-urlencoded|[\w.+-]+\+json)|text\/|multipart\/form-data)/i

export function pathOf(url: string): string {
  const start = url.indexOf('/', url.indexOf('//') + 2)
  const q = url.indexOf('?', start)
  return q < 0 ? url.slice(start) : url.slice(start, q)
}

function zoneOf(rest: string): RequestState['zone'] {
  if (rest.startsWith('/app/') || rest === '/app') return 'app'
  if (rest.startsWith('/admin/') || rest === '/admin') return 'admin'
  if (rest.startsWith('/public/') || rest === '/public') return 'public'
  return 'none'
}

export function createPipeline(d: PipelineDeps) {
  const finishAuth = (s: RequestState, method: string, rest: string, set: { headers: Record<string, string | number> }) => {
    const p = s.principal!
    if (s.zone === 'admin' && !isAdmin(p.user.role)) throw forbidden('Admin role required', { required_role: 'admin' })
    if (p.actorId) set.headers['x-impersonated-by'] = p.actorId
    d.meter(p.user.id, 'api_requests', 1, { version: s.version })
    return limit(s, method, rest, set)
  }

  const applyRate = (r: RateResult, s: RequestState, set: { headers: Record<string, string | number> }, message?: string) => {
    Object.assign(set.headers, rateHeaders(r))
    if (!r.allowed) throw rateLimitError(r, message)
  }

  const limit = (s: RequestState, method: string, rest: string, set: { headers: Record<string, string | number> }) => {
    const cls = d.limiter.classify(rest, method)
    if (!cls) return
    const key = cls.perIp || !s.principal ? `ip:${s.ip}` : `u:${s.principal.user.id}`
    const r = d.limiter.hit(cls, key)
    if (r instanceof Promise) return r.then((res) => applyRate(res, s, set, cls.message))
    applyRate(r, s, set, cls.message)
  }

  return (
    new Elysia()
      // Runs before routing, so unknown routes get the same headers (PITFALLS: derive would not).
      .onRequest(({ request, set }) => {
        const path = pathOf(request.url)
        const id = requestIdFrom(request.headers)
        const m = VERSIONED.exec(path)
        const hint = d.hint(request)
        const rawVersion = hint?.requestedVersion ?? m?.[1]
        const version: ApiVersion = rawVersion && isApiVersion(rawVersion) ? rawVersion : 'v1'
        const rest = m?.[2] ?? ''
        const span = hint?.span ?? d.tracing.startRequestSpan(request.method, path, request.headers)
        const s: RequestState = {
          id,
          version,
          zone: m ? zoneOf(rest) : 'none',
          path,
          start: performance.now(),
          ip: clientIp(hint?.peerIp, request.headers.get('x-forwarded-for'), d.trusted),
          status: 200,
          span,
        }
        setState(request, s)
        const headers = set.headers as Record<string, string>
        Object.assign(headers, m ? d.baseHeaders[version] : d.plainHeaders)
        headers['x-request-id'] = id
        headers['traceresponse'] = span.traceresponse()
        const origin = request.headers.get('origin')
        if (origin) {
          const preflight = d.cors.preflight(request)
          if (preflight) {
            s.status = 204
            for (const [k, v] of Object.entries(headers)) preflight.headers.set(k, v)
            return preflight
          }
          const cors = d.cors.headersFor(origin)
          if (cors) Object.assign(headers, cors)
        }
        if (m && !isApiVersion(rawVersion!)) throw badRequest(`Unknown API version ${rawVersion}`, { supported: ['v1', 'v2'] })

        const length = Number(request.headers.get('content-length') ?? 0)
        if (length > 0) {
          const structured = STRUCTURED.test(request.headers.get('content-type') ?? '')
          const max = structured ? d.maxJsonBytes : d.maxUploadBytes
          if (length > max) throw payloadTooLarge(max)
        }

        if (s.zone === 'app' || s.zone === 'admin') {
          if (request.method === 'POST' && s.zone === 'app') {
            const key = request.headers.get('idempotency-key')
            if (key !== null) {
              d.idempotency.validateKey(key)
              s.idempotencyKey = key
            }
          }
          const p = d.authenticator.authenticate(bearerToken(request.headers.get('authorization')))
          if (p instanceof Promise) {
            return p.then((principal) => {
              s.principal = principal
              return finishAuth(s, request.method, rest, set)
            })
          }
          s.principal = p
          return finishAuth(s, request.method, rest, set)
        }
        if (s.zone === 'public') return limit(s, request.method, rest, set)
      })

      // Structured bodies are read with a bound even without Content-Length (chunked uploads).
      .onParse({ as: 'global' }, async ({ request, contentType }) => {
        if (!contentType.startsWith('application/json') && !contentType.includes('+json')) return
        const text = await readBounded(request, d.maxJsonBytes)
        if (text.trim() === '') return undefined
        try {
          return JSON.parse(text)
        } catch {
          throw badRequest('Malformed JSON body')
        }
      })

      .onBeforeHandle({ as: 'global' }, async ({ request, body }) => {
        const s = stateOf(request)
        if (!s.idempotencyKey || !s.principal) return
        const r = await d.idempotency.reserve(s.principal.user.id, s.idempotencyKey, request.method, s.path, body)
        if (r.kind === 'new') {
          s.idempotencyReserved = true
          return
        }
        s.status = r.status
        return new Response(r.body || null, {
          status: r.status,
          headers: r.body ? { 'content-type': 'application/json', 'idempotent-replayed': 'true' } : { 'idempotent-replayed': 'true' },
        })
      })

      .mapResponse({ as: 'global' }, async ({ request, response, set }) => {
        const s = stateOf(request)
        if (response instanceof Response) {
          s.status = response.status
          return
        }
        let value: unknown = response
        let status = typeof set.status === 'number' ? set.status : 200
        // `return status(201, body)` arrives wrapped (PITFALLS).
        if (value && typeof value === 'object' && value.constructor?.name === 'ElysiaCustomStatusResponse') {
          const custom = value as { code: number; response: unknown }
          status = custom.code
          value = custom.response
        }
        s.status = status
        if (value === undefined || value === null || status === 204 || status === 304) {
          if (s.idempotencyReserved) await d.idempotency.complete(s.principal!.user.id, s.idempotencyKey!, status, '')
          return new Response(null, { status: status === 200 && value == null ? 204 : status })
        }
        if (typeof value === 'string' && s.version !== 'v2') {
          return new Response(value, { status, headers: { 'content-type': 'text/plain; charset=utf-8' } })
        }
        const text = JSON.stringify(s.version === 'v2' && s.zone !== 'none' ? envelope(value, s.id) : value)
        if (s.idempotencyReserved && status < 500) {
          await d.idempotency.complete(s.principal!.user.id, s.idempotencyKey!, status, text)
          s.idempotencyReserved = false
        }
        return new Response(text, { status, headers: { 'content-type': 'application/json' } })
      })

      .onError({ as: 'global' }, ({ request, code, error, set }) => {
        const s = maybeStateOf(request)
        const id = s?.id ?? requestIdFrom(request.headers)
        const q = request.url.indexOf('?')
        const view = toErrorView(error, code, id, d.logger, code === 'VALIDATION' && q > 0 ? new URLSearchParams(request.url.slice(q)) : undefined)
        if (s) {
          s.status = view.status
          if (view.status >= 500) s.error = error
        }
        const res = errorResponse(view, s?.version ?? 'v1', id)
        // Headers set before the error (request id, version, CORS, rate limit) still apply.
        for (const [k, v] of Object.entries(set.headers as Record<string, string>)) {
          if (!res.headers.has(k)) res.headers.set(k, String(v))
        }
        return res
      })

      .onAfterResponse({ as: 'global' }, ({ request, route }) => {
        const s = maybeStateOf(request)
        if (!s) return
        if (s.idempotencyReserved) {
          s.idempotencyReserved = false
          d.idempotency.release(s.principal!.user.id, s.idempotencyKey!).catch((err) =>
            d.logger.warn('idempotency release failed', { request_id: s.id, error: err }),
          )
        }
        const template = route || 'unmatched'
        const seconds = (performance.now() - s.start) / 1000
        d.metrics.observeRequest(request.method, template, s.status, seconds)
        s.span?.setRoute(template)
        s.span?.end(s.status, s.error)
        if (d.logger.level !== 'error' && d.logger.level !== 'warn') {
          d.logger.info('request completed', {
            request_id: s.id,
            trace_id: s.span?.traceId,
            span_id: s.span?.spanId,
            user_id: s.principal?.user.id,
            method: request.method,
            route: template,
            status: s.status,
            duration_ms: Math.round(seconds * 100000) / 100,
          })
        }
      })
  )
}

/** Reads a body as text, refusing it once it passes `max` bytes. */
async function readBounded(request: Request, max: number): Promise<string> {
  if (!request.body) return ''
  const reader = request.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > max) {
      await reader.cancel().catch(() => {})
      throw payloadTooLarge(max)
    }
    chunks.push(value)
  }
  return new TextDecoder().decode(chunks.length === 1 ? chunks[0] : concat(chunks, size))
}

function concat(chunks: Uint8Array[], size: number) {
  const out = new Uint8Array(size)
  let at = 0
  for (const c of chunks) {
    out.set(c, at)
    at += c.byteLength
  }
  return out
}



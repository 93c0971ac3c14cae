/**
 * The Elysia side of the request path (SPEC §3-7): hooks on the root instance. The awaits
 * (auth, rate limit, idempotency) happened before routing in prelude.ts; these hooks only
 * read the request state, so they stay synchronous and Elysia compiles a synchronous handler
 * for synchronous routes.
 *
 * Elysia decides whether a hook is async from its source text (`async`, `await`, or
 * `return f(` / `=> f(`), and compiles every route `async` when one is. The hooks below are
 * written so that this check reads them as synchronous: keep calls out of `return`. Bun's
 * transpiler inlines `const p = f(); return p` into `return f(`, so a promise a hook hands
 * back goes through `s.settling` instead (tests/sync-handlers.test.ts checks the compiled handler).
 */
import { Elysia } from 'elysia'
import { errorResponse, toErrorView } from '../errors/index.ts'
import type { Cors } from '../http/cors.ts'
import { envelope } from '../http/envelope.ts'
import type { AuditLog } from '../audit/index.ts'
import type { Idempotency } from '../http/idempotency.ts'
import { maybeStateOf, stateOf, type RequestState } from '../http/request-state.ts'
import { requestIdFrom } from '../http/request-id.ts'
import type { ApiVersion } from '../http/versioning.ts'
import type { Logger } from '../observability/logger.ts'
import type { Metrics } from '../observability/metrics.ts'
import { rateHeaders } from '../rate-limit/limiter.ts'

export interface PipelineDeps {
  logger: Logger
  cors: Cors
  /** Per-version response headers (version, latest, deprecation) plus security headers. */
  baseHeaders: Record<ApiVersion, Record<string, string>>
  /** Security headers for non-API paths (docs, openapi.json). */
  plainHeaders: Record<string, string>
  idempotency: Idempotency
  metrics: Metrics
  /** Records every request made under impersonation (SPEC §7). */
  audit?: Pick<AuditLog, 'impersonatedRequest'>
}

type Set = { headers: Record<string, string | number>; status?: number | string }

export function createPipeline(d: PipelineDeps) {
  /** Headers every response gets, then the error or replay found before routing. */
  function onRequest({ request, set }: { request: Request; set: Set }) {
    const s = stateOf(request)
    const headers = set.headers as Record<string, string>
    Object.assign(headers, s.zone === 'none' && !s.requestedVersion ? d.plainHeaders : d.baseHeaders[s.version])
    headers['x-request-id'] = s.id
    if (s.span!.propagated) headers['traceresponse'] = s.span!.traceresponse()
    const origin = request.headers.get('origin')
    if (origin) {
      const cors = d.cors.headersFor(origin)
      if (cors) Object.assign(headers, cors)
      if (s.preflight) {
        const preflight = d.cors.preflight(request)!
        s.status = 204
        for (const k in headers) preflight.headers.set(k, headers[k]!)
        finish(s, request.method, undefined)
        return preflight
      }
    }
    if (s.rate) rateHeaders(s.rate, headers)
    if (s.principal?.actorId) headers['x-impersonated-by'] = s.principal.actorId
    if (s.early !== undefined) throw s.early
    if (s.replay) {
      const replayed = replayResponse(s, headers)
      finish(s, request.method, undefined)
      return replayed
    }
  }

  /** v1 raw / v2 envelope. Returns the body as a string with status and headers on `set`, so
   *  Elysia builds the Response once (a returned Response would have every header copied again). */
  function onMapResponse({ request, response, set, route }: { request: Request; response: unknown; set: Set; route?: string }) {
    const s = stateOf(request)
    if (response instanceof Response) {
      s.status = response.status
      finish(s, request.method, route)
      if (!s.idempotencyReserved) return
      s.idempotencyReserved = false
      // A streamed or hand-built response is not stored: free the key before answering, unless
      // the handler named what a retry replays instead (replayAs). A 5xx keeps nothing.
      const userId = s.principal!.user.id
      const keep = s.replayBody !== undefined && response.status < 500
      const settled = keep ? d.idempotency.complete(userId, s.idempotencyKey!, response.status, s.replayBody!) : d.idempotency.release(userId, s.idempotencyKey!)
      s.settling = settled.then(() => response)
      return s.settling
    }
    let value: unknown = response
    let status = typeof set.status === 'number' ? set.status : 200
    // `return status(201, body)` arrives wrapped (PITFALLS).
    if (value && typeof value === 'object' && value.constructor?.name === 'ElysiaCustomStatusResponse') {
      const custom = value as { code: number; response: unknown }
      status = custom.code
      value = custom.response
    }
    const headers = set.headers as Record<string, string>
    let text: string | null
    if (value === undefined || value === null || status === 204 || status === 304) {
      if (status === 200) status = 204
      text = null
    } else if (typeof value === 'string' && s.version !== 'v2') {
      headers['content-type'] ??= 'text/plain; charset=utf-8'
      text = value
    } else {
      headers['content-type'] = 'application/json'
      text = JSON.stringify(s.version === 'v2' && s.zone !== 'none' ? envelope(value, s.id) : value)
    }
    s.status = status
    set.status = status
    finish(s, request.method, route)
    const out = text === null ? new Response(null, { status, headers }) : text
    if (!s.idempotencyReserved) return out
    // Stored (or released, for a 5xx) before answering, so a retry that arrives next sees it.
    s.idempotencyReserved = false
    const userId = s.principal!.user.id
    const settled =
      status >= 500
        ? d.idempotency.release(userId, s.idempotencyKey!)
        : d.idempotency.complete(userId, s.idempotencyKey!, status, text ?? '')
    s.settling = settled.then(() => out)
    return s.settling
  }

  function onError({ request, code, error, set, route }: { request: Request; code: unknown; error: unknown; set: Set; route?: string }) {
    const s = maybeStateOf(request)
    const id = s?.id ?? requestIdFrom(request.headers)
    const q = request.url.indexOf('?')
    const query = code === 'VALIDATION' && q > 0 ? new URLSearchParams(request.url.slice(q)) : undefined
    const view = toErrorView(error, code, id, d.logger, query)
    if (s) {
      s.status = view.status
      if (view.status >= 500) s.error = error
    }
    const res = errorResponse(view, s?.version ?? 'v1', id)
    // Headers set before the error (request id, version, CORS, rate limit) still apply.
    const headers = set.headers as Record<string, string>
    for (const k in headers) if (!res.headers.has(k)) res.headers.set(k, String(headers[k]))
    if (s) finish(s, request.method, route)
    if (!s?.idempotencyReserved) return res
    // A failed request keeps nothing: the key is free before the client can retry.
    s.idempotencyReserved = false
    s.settling = d.idempotency.release(s.principal!.user.id, s.idempotencyKey!).then(
      () => res,
      (err) => {
        d.logger.warn('idempotency release failed', { request_id: s.id, error: err })
        return res
      },
    )
    return s.settling
  }

  /**
   * Logs, metrics, span and the impersonation audit of a finished request. Called where the
   * response is settled (mapResponse also runs for error responses) rather than in
   * onAfterResponse, which Elysia schedules with a setImmediate per request.
   */
  function finish(s: RequestState, method: string, route: string | undefined) {
    if (s.finished) return
    s.finished = true
    const template = route || 'unmatched'
    const seconds = (performance.now() - s.start) / 1000
    d.metrics.observeRequest(method, template, s.status, seconds)
    s.span?.setRoute(template)
    s.span?.end(s.status, s.error)
    if (s.principal?.actorId) d.audit?.impersonatedRequest(s, method)
    if (d.logger.level === 'debug' || d.logger.level === 'info') {
      d.logger.info('request completed', {
        request_id: s.id,
        trace_id: s.span?.traceId,
        span_id: s.span?.spanId,
        user_id: s.principal?.user.id,
        actor_id: s.principal?.actorId,
        method,
        route: template,
        status: s.status,
        duration_ms: Math.round(seconds * 100000) / 100,
      })
    }
  }

  return new Elysia()
    .onRequest(onRequest as never)
    .mapResponse({ as: 'global' }, onMapResponse as never)
    .onError({ as: 'global' }, onError as never)
}

function replayResponse(s: RequestState, headers: Record<string, string>): Response {
  const r = s.replay!
  s.status = r.status
  const h: Record<string, string> = { ...headers, 'idempotent-replayed': 'true' }
  if (r.body) h['content-type'] = 'application/json'
  return new Response(r.body || null, { status: r.status, headers: h })
}

/**
 * The asynchronous part of the request path, run before routing (App.handle): version and
 * zone, body size, bearer -> Principal, admin role, rate limit, metering and Idempotency-Key.
 * Doing the awaits here keeps every Elysia hook synchronous, so a route whose handler is
 * synchronous answers without a single promise when the token, user and counter are cached.
 * Errors are not answered here: they are recorded on the request state and thrown by the
 * pipeline's onRequest, so they get the same headers and shape as any other error.
 */
import { createHash } from 'node:crypto'
import type { AnyElysia } from 'elysia'
import type { Authenticator } from '../auth/authenticator.ts'
import { admitsAdmin, bearerToken } from '../auth/authenticator.ts'
import { badRequest, forbidden, payloadTooLarge } from '../errors/index.ts'
import { clientIp, type TrustedProxies } from '../http/client-ip.ts'
import type { Idempotency } from '../http/idempotency.ts'
import { setState, type RequestState } from '../http/request-state.ts'
import { requestIdFrom } from '../http/request-id.ts'
import { headerVersion, isApiVersion, type ApiVersion } from '../http/versioning.ts'
import type { MeterFn } from '../observability/meter.ts'
import type { Tracing } from '../observability/tracing.ts'
import { rateLimitError, type Limiter } from '../rate-limit/limiter.ts'
import type { RateResult } from '../rate-limit/types.ts'

export interface PreludeDeps {
  authenticator: Authenticator
  limiter: Limiter
  trusted: TrustedProxies
  idempotency: Idempotency
  meter: MeterFn
  tracing: Tracing
  defaultVersion: ApiVersion
  maxJsonBytes: number
  maxUploadBytes: number
  /** Paths after /api/{v} whose bodies are file uploads (PluginDefinition.uploadPaths): bounded by maxUploadBytes whatever their type. */
  uploadPaths?: readonly string[]
}

/** The socket's address, or a function that reads it (Bun's requestIP) only when needed. */
export type Peer = string | (() => string | undefined) | undefined

/** The `api_requests` meter's dimensions, one frozen object per version (none allocated per request). */
const VERSION_DIMENSIONS: Record<ApiVersion, Record<string, string>> = { v1: Object.freeze({ version: 'v1' }), v2: Object.freeze({ version: 'v2' }) }

/**
 * For `/api/v<digits>` followed by `/` or the end, the index where the version ends; else -1.
 * By hand rather than a regex: it runs on every request.
 */
export function versionEnd(path: string): number {
  if (!path.startsWith('/api/v')) return -1
  let i = 6
  while (i < path.length) {
    const c = path.charCodeAt(i)
    if (c < 48 || c > 57) break
    i++
  }
  if (i === 6 || (i < path.length && path.charCodeAt(i) !== 47)) return -1
  return i
}
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

export function createPrelude(d: PreludeDeps, root: AnyElysia) {
  // `fetch`, not `handle`: Elysia's handle is `async (r) => this.fetch(r)`, a promise per request
  // even when the route answers synchronously. fetch is compiled on first use, after every
  // plugin has mounted its routes.
  const run = (request: Request, s: RequestState) => s.span!.run(() => root.fetch(request) as Response | Promise<Response>)

  const fail = (request: Request, s: RequestState, err: unknown) => {
    s.early = err
    return run(request, s)
  }

  const applyRate = (request: Request, s: RequestState, r: RateResult, message?: string) => {
    s.rate = r
    if (!r.allowed) return fail(request, s, rateLimitError(r, message))
    return idempotent(request, s)
  }

  const limit = (request: Request, s: RequestState): Response | Promise<Response> => {
    const cls = d.limiter.classify(s.rest, request.method)
    if (!cls) return idempotent(request, s)
    const key = cls.perIp || !s.principal ? `ip:${s.ip}` : `u:${s.principal.user.id}`
    let r: RateResult | Promise<RateResult>
    try {
      r = d.limiter.hit(cls, key)
    } catch (err) {
      return fail(request, s, err)
    }
    if (r instanceof Promise) return r.then((res) => applyRate(request, s, res, cls.message), (err) => fail(request, s, err))
    return applyRate(request, s, r, cls.message)
  }

  const authorised = (request: Request, s: RequestState) => {
    const p = s.principal!
    if (s.zone === 'admin' && !admitsAdmin(p, s.rest)) return fail(request, s, forbidden('Admin role required', { required_role: 'admin' }))
    d.meter(p.user.id, 'api_requests', 1, VERSION_DIMENSIONS[s.version])
    return limit(request, s)
  }

  /** POST under /app with Idempotency-Key: reserve (or replay) against the raw body's hash. */
  const idempotent = (request: Request, s: RequestState): Response | Promise<Response> => {
    const key = s.zone === 'app' && request.method === 'POST' ? request.headers.get('idempotency-key') : null
    if (key === null || !s.principal) return run(request, s)
    try {
      d.idempotency.validateKey(key)
    } catch (err) {
      return fail(request, s, err)
    }
    const userId = s.principal.user.id
    return readBounded(request, d.maxJsonBytes)
      .then(async (text) => {
        const hash = createHash('sha256').update(`${request.method} ${s.path}\n${text}`).digest('hex')
        const r = await d.idempotency.reserve(userId, key, request.method, s.path, hash)
        if (r.kind === 'replay') {
          s.replay = { status: r.status, body: r.body }
          return run(request, s)
        }
        s.idempotencyKey = key
        s.idempotencyReserved = true
        // The body was consumed for the hash: the handler gets the same bytes.
        const copy = new Request(request.url, { method: request.method, headers: request.headers, body: text })
        setState(copy, s)
        return run(copy, s)
      })
      .catch((err) => fail(request, s, err))
  }

  return function handle(request: Request, peer?: Peer): Response | Promise<Response> {
    let path = pathOf(request.url)
    let requested: string | undefined
    let end = versionEnd(path)
    // SPEC §3: /api/... without a version takes Accept-Version / X-API-Version, else the default.
    if (end < 0 && (path === '/api' || path.startsWith('/api/'))) {
      requested = headerVersion(request.headers, d.defaultVersion)
      const v = isApiVersion(requested) ? requested : d.defaultVersion
      const url = request.url
      const start = url.indexOf('/', url.indexOf('//') + 2)
      request = new Request(url.slice(0, start) + '/api/' + v + url.slice(start + 4), request)
      path = '/api/' + v + path.slice(4)
      end = versionEnd(path)
    }
    const versioned = end > 0
    if (versioned) requested ??= path.slice(5, end)
    const rest = versioned ? path.slice(end) : ''
    const method = request.method
    const headers = request.headers
    const s: RequestState = new State(
      requestIdFrom(headers),
      requested && isApiVersion(requested) ? requested : 'v1',
      requested,
      versioned ? zoneOf(rest) : 'none',
      path,
      rest,
      d.tracing.startRequestSpan(method, path, headers),
      peer,
      headers,
      d.trusted,
    )
    setState(request, s)

    if (method === 'OPTIONS' && headers.get('access-control-request-method') && headers.get('origin')) {
      s.preflight = true
      return run(request, s)
    }
    if (versioned && !isApiVersion(requested!)) return fail(request, s, badRequest(`Unknown API version ${requested}`, { supported: ['v1', 'v2'] }))

    // Elysia reads no body for GET and HEAD: nothing to bound.
    if (method !== 'GET' && method !== 'HEAD') {
      const length = headers.get('content-length')
      const upload = d.uploadPaths?.some((p) => rest.startsWith(p)) ?? false
      const structured = !upload && STRUCTURED.test(headers.get('content-type') ?? '')
      const max = structured ? d.maxJsonBytes : d.maxUploadBytes
      if (length !== null && Number(length) > max) return fail(request, s, payloadTooLarge(max))
      if (length === null && structured && request.body) {
        // Chunked bodies get the same bound while they are read.
        const bounded = new Request(request.url, { method: request.method, headers, body: request.body.pipeThrough(limitStream(max)) })
        setState(bounded, s)
        request = bounded
      }
    }

    if (s.zone !== 'app' && s.zone !== 'admin') return s.zone === 'public' ? limit(request, s) : run(request, s)
    let p
    try {
      p = d.authenticator.authenticate(bearerToken(request.headers.get('authorization')))
    } catch (err) {
      return fail(request, s, err)
    }
    if (p instanceof Promise) {
      const req = request
      return p.then(
        (principal) => {
          s.principal = principal
          return authorised(req, s)
        },
        (err) => fail(req, s, err),
      )
    }
    s.principal = p
    return authorised(request, s)
  }
}

/** The request state, as a class: one plain allocation per request, its lazy getter on the prototype. */
class State implements RequestState {
  start = performance.now()
  status = 200
  private address: string | undefined
  declare principal?: RequestState['principal']

  constructor(
    readonly id: string,
    readonly version: RequestState['version'],
    readonly requestedVersion: string | undefined,
    readonly zone: RequestState['zone'],
    readonly path: string,
    readonly rest: string,
    readonly span: RequestState['span'],
    private readonly peer: Peer,
    private readonly headers: Headers,
    private readonly trusted: TrustedProxies,
  ) {}

  /**
   * Read lazily: asking Bun for the socket's address costs more than the rest of an
   * authenticated request's bookkeeping, and only public routes and audits need it.
   */
  get ip(): string {
    return (this.address ??= clientIp(typeof this.peer === 'function' ? this.peer() : this.peer, this.headers.get('x-forwarded-for'), this.trusted))
  }
}

/** A stream that errors with 413 once more than `max` bytes went through. */
function limitStream(max: number) {
  let size = 0
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      size += chunk.byteLength
      if (size > max) controller.error(payloadTooLarge(max))
      else controller.enqueue(chunk)
    },
  })
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
  const out = new Uint8Array(size)
  let at = 0
  for (const c of chunks) {
    out.set(c, at)
    at += c.byteLength
  }
  return new TextDecoder().decode(out)
}

/**
 * Per-request state: what handlers, hooks and the audit log read (RequestState), and the
 * pipeline's own record of one request on its way through the stages (Exchange).
 */
import type { Principal } from '../auth/index.ts'
import type { RequestSpan } from '../observability/index.ts'
import type { RateResult } from '../rate-limit/index.ts'
import { clientIp, type TrustedProxies } from './client-ip.ts'
import type { ApiVersion } from './versioning.ts'

export interface RequestState {
  /** X-Request-ID, set by the request-id stage. */
  id: string
  version: ApiVersion
  zone: 'public' | 'app' | 'admin' | 'none'
  /** Path without the query string, after the unversioned-path rewrite. */
  path: string
  /** Path after /api/{v}, e.g. '/app/projects'. */
  rest: string
  /** Version asked for (path or header), possibly unknown: the version stage refuses it with 400. */
  requestedVersion?: string
  start: number
  ip: string
  principal?: Principal
  /** Final status, recorded where the response is decided (logs and metrics read it). */
  status: number
  span?: RequestSpan
  /** The error behind a 5xx, recorded on the span. */
  error?: unknown
  /**
   * What an Idempotency-Key retry replays when the handler answered with a Response the core
   * does not store (a secret shown once): set with `replayAs()`. Unset, such a key is released.
   */
  replayBody?: string
}

/** The socket's address, or a function that reads it (Bun's requestIP) only when needed. */
export type Peer = string | (() => string | undefined) | undefined

/**
 * One request and its answer as they pass the stages of core/app/pipeline.ts. A class with every
 * field set in the constructor: one plain allocation per request, its getter on the prototype.
 */
export class Exchange implements RequestState {
  readonly start = performance.now()
  readonly method: string
  id = ''
  version: ApiVersion = 'v1'
  requestedVersion: string | undefined = undefined
  zone: RequestState['zone'] = 'none'
  path = ''
  rest = ''
  span: RequestSpan | undefined = undefined
  principal: Principal | undefined = undefined
  replayBody: string | undefined = undefined
  /** The error behind a 5xx. */
  error: unknown = undefined

  /**
   * Response headers other stages add (Idempotent-Replayed...). The request id (`id`) and the
   * rate-limit decision (`rate`) are fields of their own: the headers stage writes them without
   * walking an object (bench/README.md#the-response-headers).
   */
  readonly headers: Record<string, string> = {}
  /** The rate-limit decision this request counted against: its X-RateLimit-* headers. */
  rate: RateResult | undefined = undefined
  /** True once the answer is decided (an error, a replay, a preflight): only `always` stages run. */
  answered = false
  /** True when the answer is an error (the error mapper wrote body, status and errorHeaders). */
  failed = false
  status = 200
  /** Body text of the answer; null for none. Unused when `response` is set. */
  body: string | null = null
  contentType: string | undefined = undefined
  /** A Response handed over whole (a handler's stream or file, a preflight): headers are merged into it. */
  response: Response | undefined = undefined
  /** Headers that come with the error (Retry-After, WWW-Authenticate...): written last. */
  errorHeaders: Record<string, string> | undefined = undefined

  /** Set once the handler's answer was taken (the Elysia bridge). */
  captured = false
  /** What the route handler returned, its `set.status` and non-empty `set.headers` (the Elysia bridge). */
  value: unknown = undefined
  handlerStatus: number | string | undefined = undefined
  handlerHeaders: Record<string, string | number> | undefined = undefined
  /** Route template ('/api/v1/app/projects/:id'); unset for unmatched requests. */
  route: string | undefined = undefined
  /** Set when Elysia caught an error (validation, parse, not found, a throwing handler). */
  caught = false
  thrown: unknown = undefined
  /** Elysia's classification of `thrown` (VALIDATION, PARSE, NOT_FOUND...). */
  errorCode: unknown = undefined

  /** Set while an Idempotency-Key reservation waits to be completed or released. */
  idempotencyKey: string | undefined = undefined

  private address: string | undefined = undefined

  constructor(
    /** The request as the handler will see it: stages may replace it (rewritten URL, bounded body). */
    public request: Request,
    private readonly peer: Peer,
    private readonly trusted: TrustedProxies,
  ) {
    this.method = request.method
  }

  /**
   * Read lazily: asking Bun for the socket's address costs more than the rest of an
   * authenticated request's bookkeeping, and only public routes and audits need it.
   */
  get ip(): string {
    return (this.address ??= clientIp(
      typeof this.peer === 'function' ? this.peer() : this.peer,
      this.request.headers.get('x-forwarded-for'),
      this.trusted,
    ))
  }
}

/**
 * The state rides on the Request itself (a symbol-keyed property) rather than in a WeakMap: a
 * WeakMap entry survives the young-generation collections until a full one, so under load each
 * request's state was kept ~40,000 requests longer than needed (measured with BUN_JSC_logGC).
 */
const STATE = Symbol('omnistack.request-state')
type Carrier = Request & { [STATE]?: RequestState }

export const setState = (request: Request, state: RequestState) => {
  ;(request as Carrier)[STATE] = state
}

/** Throws if the pipeline did not run: a route mounted outside createApp would be a bug. */
export function stateOf(request: Request): RequestState {
  const s = (request as Carrier)[STATE]
  if (!s) throw new Error('request did not pass through the OmniStack pipeline')
  return s
}

export const maybeStateOf = (request: Request) => (request as Carrier)[STATE]

/**
 * For a handler that answers with a `Response` holding something never to be stored (an API
 * key's secret): the body an Idempotency-Key retry replays instead (same status), so a retry
 * does not run the handler again. Without it the key is released and a retry runs anew.
 */
export function replayAs(request: Request, body: string): void {
  const s = maybeStateOf(request)
  if (s) s.replayBody = body
}

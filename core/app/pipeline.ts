/**
 * The request path (docs/README.md#the-http-contract): one ordered list of named stages, run by one runner
 * (stages/runner.ts) over one Exchange per request. docs/architecture.md draws it.
 *
 *   version · request id · request size · preflight · body limit · authenticate · rate limit ·
 *   authorise · body depth · idempotency · handler · envelope · idempotency settle* · headers* ·
 *   metrics/log*
 *
 * (* `always`: also after an error, a replay or a preflight.) Every error, whichever stage
 * found it (401 from authenticate, 400 for an unknown version, 413, 429, a validation error in
 * Elysia, a throwing handler), is answered by `fail`, the one error mapper. Elysia is one stage:
 * it routes, parses, validates and runs the handler (stages/handler.ts).
 *
 * Stages return nothing or a promise; the runner awaits only promises, so an authenticated GET
 * whose token, user and counter are cached and whose handler is synchronous is answered
 * synchronously (bench/README.md).
 */
import type { AnyElysia } from 'elysia'
import type { AuditLog } from '../audit/index.ts'
import type { Authenticator } from '../auth/index.ts'
import { errorBody, toErrorView } from '../errors/index.ts'
import type { TrustedProxies, Cors, ApiVersion } from '../http/index.ts'
import { idempotencyStages, type Idempotency, Exchange, type Peer } from '../http/index.ts'
import type { Logger, MeterFn, Metrics, Tracing } from '../observability/index.ts'
import type { Limiter } from '../rate-limit/index.ts'
import { authenticateStage, authoriseStage } from './stages/auth.ts'
import { bodyDepthStage } from './stages/body-depth.ts'
import { bodyLimitStage } from './stages/body-limit.ts'
import { finishStage } from './stages/finish.ts'
import { createRoot, handlerStage } from './stages/handler.ts'
import { rateLimitStage } from './stages/rate-limit.ts'
import { requestSizeStage } from './stages/request-size.ts'
import { routeTable } from './route-table.ts'
import { envelope, headersStage, preflightStage } from './stages/respond.ts'
import { createRunner, type Stage } from './stages/runner.ts'
import { requestIdStage, versionStage } from './stages/version.ts'

export type { Peer } from '../http/index.ts'
export type { Stage } from './stages/runner.ts'

export interface PipelineDeps {
  logger: Logger
  cors: Cors
  /** Per-version response headers (version, latest, deprecation) plus security headers. */
  baseHeaders: Record<ApiVersion, Record<string, string>>
  /** Security headers for non-API paths (docs, openapi.json). */
  plainHeaders: Record<string, string>
  idempotency: Idempotency
  metrics: Metrics
  /** Records every request made under impersonation (docs/auth.md#impersonation). */
  audit?: Pick<AuditLog, 'impersonatedRequest'>
  authenticator: Authenticator
  limiter: Limiter
  trusted: TrustedProxies
  meter: MeterFn
  tracing: Tracing
  defaultVersion: ApiVersion
  maxJsonBytes: number
  /** Deepest nesting of a JSON body (MAX_JSON_DEPTH). */
  maxJsonDepth: number
  /** Longest URL (MAX_URL_BYTES) and largest headers together (MAX_HEADER_BYTES). */
  maxUrlBytes: number
  maxHeaderBytes: number
  maxUploadBytes: number
  /** Paths after /api/{v} whose bodies are file uploads (PluginDefinition.uploadPaths): bounded by maxUploadBytes whatever their type. */
  uploadPaths?: readonly string[]
}

export interface Pipeline {
  /** The root Elysia instance: plugins mount their routes on it (the `handler` stage runs it). */
  readonly elysia: AnyElysia
  /** The stages, in order. */
  readonly stages: readonly Stage[]
  /** Serves one request; synchronous when no stage had to wait. */
  handle(request: Request, peer?: Peer): Response | Promise<Response>
}

export function createPipeline(d: PipelineDeps): Pipeline {
  const elysia = createRoot()
  const idempotency = idempotencyStages(d.idempotency, { maxJsonBytes: d.maxJsonBytes, logger: d.logger })
  const requestId = requestIdStage(d.tracing)

  const stages: Stage[] = [
    { name: 'version', run: versionStage(d.defaultVersion) },
    { name: 'request id', run: requestId },
    { name: 'request size', run: requestSizeStage(d) },
    { name: 'preflight', run: preflightStage(d.cors) },
    { name: 'body limit', run: bodyLimitStage(d) },
    { name: 'authenticate', run: authenticateStage(d.authenticator, d.limiter, elysia) },
    // Before `authorise`, so its 403 carries the X-RateLimit-* headers like every API answer.
    { name: 'rate limit', run: rateLimitStage(d.limiter) },
    { name: 'authorise', run: authoriseStage(d.meter) },
    { name: 'body depth', run: bodyDepthStage(d.maxJsonDepth, d.uploadPaths) },
    { name: 'idempotency', run: idempotency.reserve },
    { name: 'handler', run: handlerStage(elysia) },
    { name: 'envelope', run: envelope },
    { name: 'idempotency settle', always: true, run: idempotency.settle },
    { name: 'headers', always: true, run: headersStage(d) },
    { name: 'metrics/log', always: true, run: finishStage({ ...d, routeOf: routeTable(elysia) }) },
  ]

  /** The one error mapper: whichever stage threw, the answer is the contract's error shape. */
  function fail(x: Exchange, err: unknown) {
    if (x.answered) {
      // Past the envelope (or a replay or preflight) the answer stands: a stage that breaks then is a bug.
      d.logger.error('request stage failed after the answer was decided', { request_id: x.id, error: err })
      return
    }
    requestId(x) // the version stage may have refused the request before the id was read
    const code = x.caught && x.thrown === err ? x.errorCode : undefined
    const url = x.request.url
    const q = url.indexOf('?')
    const query = code === 'VALIDATION' && q > 0 ? new URLSearchParams(url.slice(q)) : undefined
    const view = toErrorView(err, code, x.id, d.logger, query)
    x.status = view.status
    if (view.status >= 500) x.error = err
    x.body = errorBody(view, x.version, x.id)
    x.contentType = 'application/json'
    x.errorHeaders = view.headers
    x.response = undefined
    x.failed = true
    x.answered = true
  }

  // With tracing on, every stage runs in the request span's context, so the database and Redis calls
  // of authentication, rate limiting and idempotency are its children too (docs/observability.md#child-spans).
  // With tracing off the stages run as they are: no closure per request.
  const run = createRunner(d.tracing.enabled ? stages.map(inSpan) : stages, fail)
  return {
    elysia,
    stages,
    handle: (request, peer) => run(new Exchange(request, peer, d.trusted)),
  }
}

/** A stage that runs in its request span's context (once the request-id stage has made the span). */
function inSpan(stage: Stage): Stage {
  const run = stage.run
  return { ...stage, run: (x) => (x.span ? x.span.run(() => run(x)) : run(x)) }
}

/**
 * Stage `metrics/log`, the last: Prometheus request metrics, the span's end, the impersonation
 * audit (docs/auth.md#impersonation) and the access log line. Run before the Response is handed to the runtime
 * rather than after it is sent (Elysia's onAfterResponse costs a setImmediate per request).
 */
import type { AuditLog } from '../../audit/index.ts'
import type { Exchange } from '../../http/index.ts'
import type { Logger, Metrics } from '../../observability/index.ts'
import type { RouteOf } from '../route-table.ts'

export interface FinishDeps {
  logger: Logger
  metrics: Metrics
  /** Records every request made under impersonation (docs/auth.md#impersonation). */
  audit?: Pick<AuditLog, 'impersonatedRequest'>
  /**
   * The template of a request refused before Elysia routed it (401, 429...): such a request is
   * counted and logged under its route; only a path no route matches is `unmatched`.
   */
  routeOf?: RouteOf
}

export function finishStage(d: FinishDeps) {
  return function finish(x: Exchange): void {
    // Routed requests carry their template; only the refused and the unknown are looked up.
    const template = x.route || (x.path && d.routeOf?.(x.method, x.path)) || 'unmatched'
    const seconds = (performance.now() - x.start) / 1000
    d.metrics.observeRequest(x.method, template, x.status, seconds)
    x.span?.setRoute(template)
    x.span?.end(x.status, x.error)
    if (x.principal?.actorId) d.audit?.impersonatedRequest(x, x.method)
    if (d.logger.level === 'debug' || d.logger.level === 'info') {
      d.logger.info('request completed', {
        request_id: x.id,
        trace_id: x.span?.traceId,
        span_id: x.span?.spanId,
        user_id: x.principal?.user.id,
        actor_id: x.principal?.actorId,
        method: x.method,
        route: template,
        status: x.status,
        duration_ms: Math.round(seconds * 100000) / 100,
      })
    }
  }
}

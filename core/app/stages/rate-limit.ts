/**
 * Stage `rate limit` (docs/rate-limits.md): the route class and whose counter (the user's on /app and
 * /admin, the client address on public routes and per-IP classes), one hit, and the
 * X-RateLimit-* headers written here, where the decision is made. Refused: 429 with Retry-After.
 */
import type { Exchange } from '../../http/index.ts'
import { rateLimitError, type Limiter, type RateClass } from '../../rate-limit/index.ts'
import type { RateResult } from '../../rate-limit/index.ts'

function decide(x: Exchange, r: RateResult, cls: RateClass): void {
  x.rate = r // the headers stage writes X-RateLimit-* from it
  if (!r.allowed) throw rateLimitError(r, cls.message)
}

export function rateLimitStage(limiter: Limiter) {
  return function rateLimit(x: Exchange): void | Promise<void> {
    // Paths outside the API zones (docs, openapi.json) are not limited.
    if (x.zone === 'none') return
    const cls = limiter.classify(x.rest, x.method)
    if (!cls) return
    const key = cls.perIp || !x.principal ? `ip:${x.ip}` : `u:${x.principal.user.id}`
    const r = limiter.hit(cls, key)
    if (!(r instanceof Promise)) return decide(x, r, cls)
    return r.then((res) => decide(x, res, cls))
  }
}

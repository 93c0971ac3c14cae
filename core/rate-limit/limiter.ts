/**
 * Route classes over a store (docs/rate-limits.md#classes): which class a path belongs to, whose counter it is,
 * and the X-RateLimit-* headers. Health, readiness and metrics are never limited.
 */
import { AppError } from '../errors/index.ts'
import type { RateResult, RateRule, RateLimitStore } from './types.ts'

export interface RateClass {
  name: string
  /** Path after the version, e.g. '/app/ai' or '/public/contact'. Longest prefix wins. */
  prefix: string
  rule: RateRule
  methods?: readonly string[]
  perIp?: boolean
  message?: string
}

/** docs/rate-limits.md#classes: never limited. */
const EXEMPT = ['/public/health', '/public/metrics']

export interface Limiter {
  /** The class of a versionless path such as '/app/projects', or undefined when exempt. */
  classify(path: string, method: string): RateClass | undefined
  hit(cls: RateClass, key: string): RateResult | Promise<RateResult>
  peek(className: string, key: string): RateResult | Promise<RateResult>
  classes(): readonly RateClass[]
  close(): Promise<void>
}

export function createLimiter(store: RateLimitStore, defaultRule: RateRule, extra: RateClass[]): Limiter {
  const fallback: RateClass = { name: 'default', prefix: '/', rule: defaultRule }
  const sorted = [...extra].sort((a, b) => b.prefix.length - a.prefix.length)
  const byName = new Map([fallback, ...extra].map((c) => [c.name, c]))
  const matches = (path: string, prefix: string) =>
    path === prefix || (path.startsWith(prefix) && path.charCodeAt(prefix.length) === 47) /* '/' */
  return {
    classify(path, method) {
      for (const e of EXEMPT) if (matches(path, e)) return undefined
      for (const c of sorted) {
        if (matches(path, c.prefix) && (!c.methods || c.methods.includes(method))) return c
      }
      return fallback
    },
    hit: (cls, key) => store.hit(`${cls.name}:${key}`, cls.rule),
    peek(className, key) {
      const cls = byName.get(className)
      if (!cls) throw new Error(`unknown rate-limit class ${className}`)
      return store.peek(`${cls.name}:${key}`, cls.rule)
    },
    classes: () => [fallback, ...extra],
    close: () => store.close(),
  }
}

/** Writes X-RateLimit-* of `r` into `into` (the response's header object on the hot path). */
export function rateHeaders(r: RateResult, into: Record<string, string> = {}): Record<string, string> {
  into['x-ratelimit-limit'] = String(r.limit)
  into['x-ratelimit-remaining'] = String(r.remaining)
  into['x-ratelimit-reset'] = String(r.reset)
  return into
}

/** 429 with Retry-After and details.retry_after (docs/rate-limits.md#headers-and-the-429). */
export function rateLimitError(r: RateResult, message = 'Rate limit exceeded'): AppError {
  return new AppError(
    'RATE_LIMIT_EXCEEDED',
    message,
    { retry_after: r.retryAfter },
    {
      ...rateHeaders(r),
      'retry-after': String(r.retryAfter),
    },
  )
}

/**
 * CORS from CORS_ORIGINS only (docs/versioning.md#cors). Written here rather than with @elysiajs/cors because
 * its defaults echo any Origin with credentials (docs/performance-notes.md#cors-defaults), and even configured explicitly
 * (origin list, methods, headers, credentials) version 1.4.2 sends allow-credentials,
 * allow-methods, allow-headers and expose-headers on every response, to origins it refuses too,
 * and answers a refused origin's preflight with 204 and those lists. It is also an Elysia
 * onRequest hook, while the request pipeline answers preflights in its own stage before Elysia
 * routes (core/app/pipeline.ts). This version echoes an allowed origin exactly, sends nothing to
 * others, and answers preflights with explicit lists.
 */
export const CORS_METHODS = 'GET, POST, PUT, PATCH, DELETE, OPTIONS'
export const CORS_HEADERS =
  'Authorization, Content-Type, Accept, Accept-Version, X-API-Version, X-Request-ID, Idempotency-Key, X-Organization-ID, Last-Event-ID, Mcp-Protocol-Version, traceparent, tracestate'
export const CORS_EXPOSE =
  'X-Request-ID, X-API-Version, X-API-Latest-Version, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After, Deprecation, Sunset, Link, X-Deprecation-Notice, X-Impersonated-By'

export interface Cors {
  /** Headers for an actual request from `origin`, or undefined when the origin is not allowed. */
  headersFor(origin: string | null): Record<string, string> | undefined
  /** A complete preflight response, or undefined when this is not an allowed preflight. */
  preflight(request: Request): Response | undefined
}

export function createCors(origins: readonly string[]): Cors {
  const allowed = new Set(origins.map((o) => o.replace(/\/$/, '')))
  const headersFor = (origin: string | null) => {
    if (!origin || !allowed.has(origin)) return undefined
    return {
      'access-control-allow-origin': origin,
      'access-control-allow-credentials': 'true',
      'access-control-expose-headers': CORS_EXPOSE,
      vary: 'Origin',
    }
  }
  return {
    headersFor,
    preflight(request) {
      if (request.method !== 'OPTIONS' || !request.headers.get('access-control-request-method')) return undefined
      const base = headersFor(request.headers.get('origin'))
      // A preflight from a foreign origin gets an empty 204 without CORS headers: the browser blocks it.
      if (!base) return new Response(null, { status: 204, headers: { vary: 'Origin' } })
      return new Response(null, {
        status: 204,
        headers: {
          ...base,
          'access-control-allow-methods': CORS_METHODS,
          'access-control-allow-headers': CORS_HEADERS,
          'access-control-max-age': '600',
        },
      })
    },
  }
}

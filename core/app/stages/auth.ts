/**
 * Stages `authenticate` and `authorise` for /app and /admin (docs/auth.md): the bearer becomes a
 * Principal (401 without one, 403 for a deactivated user); /admin needs the admin role; every
 * authenticated API request is metered (`api_requests`, batched by the usage plugin).
 */
import type { AnyElysia } from 'elysia'
import type { Authenticator, Principal } from '../../auth/index.ts'
import { admitsAdmin, bearerToken, ORG_HEADER, QUERY_TOKEN, withOrganization } from '../../auth/index.ts'
import { AppError, forbidden } from '../../errors/index.ts'
import type { Exchange, ApiVersion } from '../../http/index.ts'
import type { MeterFn } from '../../observability/index.ts'
import { rateLimitError, type Limiter } from '../../rate-limit/index.ts'
import type { RateResult } from '../../rate-limit/index.ts'

/** The `api_requests` meter's dimensions, one frozen object per version (none allocated per request). */
const VERSION_DIMENSIONS: Record<ApiVersion, Record<string, string>> = {
  v1: Object.freeze({ version: 'v1' }),
  v2: Object.freeze({ version: 'v2' }),
}

const authed = (x: Exchange) => x.zone === 'app' || x.zone === 'admin'

/**
 * A refused credential counts against the client address in the `auth` class
 * (RATE_LIMIT_AUTH, docs/rate-limits.md#failed-authentication): the answer carries the
 * X-RateLimit-* headers, and past the limit it is 429 instead of 401/403, so guessing tokens or
 * API keys from one address is bounded. Successful requests never touch this counter.
 */
function refusals(limiter: Limiter | undefined) {
  const cls = limiter?.classes().find((c) => c.name === 'auth')
  return (x: Exchange, err: unknown): never | Promise<never> => {
    // Only the credential's own refusals count: a database that is down (503) says nothing about it.
    if (!limiter || !cls || !(err instanceof AppError) || (err.status !== 401 && err.status !== 403)) throw err
    const decide = (r: RateResult): never => {
      x.rate = r
      if (!r.allowed) throw rateLimitError(r, 'Too many failed authentication attempts from this address')
      throw err
    }
    const r = limiter.hit(cls, `ip:${x.ip}`)
    return r instanceof Promise ? r.then(decide) : decide(r)
  }
}

/**
 * `?token=` on the routes that opt in with `detail: { [QUERY_TOKEN]: true }`
 * (docs/auth.md#tokens-in-the-query-string): EventSource cannot set headers. Asked only when a
 * request has no Authorization header, so every other request pays nothing; the routes are read
 * from the mounted table once, at the first such request.
 */
function queryTokens(root: AnyElysia | undefined) {
  let exact: Set<string> | undefined
  const patterns: RegExp[] = []
  const load = () => {
    exact = new Set()
    for (const r of root?.routes ?? []) {
      if ((r.hooks as { detail?: Record<string, unknown> })?.detail?.[QUERY_TOKEN] !== true) continue
      if (!r.path.includes(':')) exact.add(`${r.method} ${r.path}`)
      else patterns.push(new RegExp(`^${r.method} ${r.path.replace(/:[^/]+/g, '[^/]+')}$`))
    }
    return exact
  }
  return (x: Exchange): string | undefined => {
    const key = `${x.method} ${x.path}`
    if (!(exact ?? load()).has(key) && !patterns.some((p) => p.test(key))) return undefined
    const url = x.request.url
    const q = url.indexOf('?')
    return q < 0 ? undefined : new URLSearchParams(url.slice(q + 1)).get('token') || undefined
  }
}

export function authenticateStage(authenticator: Authenticator, limiter?: Limiter, root?: AnyElysia) {
  const refuse = refusals(limiter)
  const fromQuery = queryTokens(root)
  /**
   * X-Organization-ID (docs/auth.md#organizations): asked only when a plugin registered an
   * organization resolver, so an app without organizations pays nothing and ignores the header.
   * Not a credential refusal: a 404 for an organization one does not belong to is not counted.
   */
  const organization = (x: Exchange, principal: Principal): void | Promise<void> => {
    const resolver = authenticator.organizations()
    const orgId = resolver && x.request.headers.get(ORG_HEADER)
    if (!resolver || orgId === null || orgId === undefined) {
      x.principal = principal
      return
    }
    const p = withOrganization(resolver, principal, orgId)
    if (!(p instanceof Promise)) {
      x.principal = p
      return
    }
    return p.then((withOrg) => {
      x.principal = withOrg
    })
  }
  return function authenticate(x: Exchange): void | Promise<void> {
    if (!authed(x)) return
    let p: Principal | Promise<Principal>
    try {
      const authorization = x.request.headers.get('authorization')
      p = authenticator.authenticate(authorization === null ? fromQuery(x) : bearerToken(authorization))
    } catch (err) {
      return refuse(x, err)
    }
    // Hot path: a token and user seen recently resolve without a promise.
    if (!(p instanceof Promise)) return organization(x, p)
    return p.then(
      (principal) => organization(x, principal),
      (err) => refuse(x, err),
    )
  }
}

export function authoriseStage(meter: MeterFn) {
  return function authorise(x: Exchange): void {
    if (!authed(x)) return
    const p = x.principal!
    if (x.zone === 'admin' && !admitsAdmin(p, x.rest))
      throw forbidden('Admin role required', { required_role: 'admin' })
    meter(p.user.id, 'api_requests', 1, VERSION_DIMENSIONS[x.version])
  }
}

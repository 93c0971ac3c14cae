/**
 * router(prefix): a fresh Elysia instance per mount (never named: Elysia drops a second .use()
 * of a named instance, docs/performance-notes.md#named-instances-are-deduplicated) with the request context typed through chaining and the
 * `scope` / `role` route options.
 */
import { Elysia } from 'elysia'
import { grantedScopes, hasScope, isAdmin, isStaff, type Role } from '../auth/index.ts'
import { forbidden, validation } from '../errors/index.ts'
import { stateOf } from '../http/index.ts'

/** `clientIp` on an authed context: one shared getter, nothing allocated per request. */
const CLIENT_IP: PropertyDescriptor = {
  get(this: { request: Request }) {
    return stateOf(this.request).ip
  },
  configurable: true,
  enumerable: true,
}

/**
 * JSON bodies are objects (as Stripe's are). Elysia turns an array, a number or a string sent
 * to a route whose body schema is an object into `{}`, so a PATCH with only optional fields
 * would answer 200 having changed nothing; this answers 422 instead. On public routes strings
 * and null pass: they are what `parse: 'text'` and custom parsers (signed webhooks, raw
 * uploads) hand over. /app and /admin routes take JSON objects only.
 */
const objectBody = (rejectStrings: boolean) =>
  function objectBodyCheck({ body, request }: { body: unknown; request: Request }) {
    if (body === undefined || body === null || (typeof body === 'object' && !Array.isArray(body))) return
    if (typeof body === 'string' && !rejectStrings) return
    const type = request.headers.get('content-type') ?? ''
    if (type.includes('json')) throw validation('body', 'The request body must be a JSON object')
  }

/** Context of /app and /admin routes: the bearer has been checked by the pipeline. */
export function authedContext() {
  return (
    new Elysia()
      .onTransform({ as: 'scoped' }, objectBody(true))
      // Elysia decides what to prepare for a route (cookies, query, headers...) from its hooks'
      // source: a context passed whole to a function reads as "uses everything", which would
      // parse cookies on every request and make every handler async. Taking the context from
      // `arguments` leaves that inference empty; the shared getter still goes on the context.
      .derive({ as: 'scoped' }, function authed() {
        const c = arguments[0] as { request: Request }
        const s = stateOf(c.request)
        // The client address is read from the socket only when a handler asks for it.
        Object.defineProperty(c, 'clientIp', CLIENT_IP)
        const principal = s.principal!
        const context = { principal, user: principal.user, requestId: s.id }
        return context as typeof context & { readonly clientIp: string }
      })
      .macro({
        /** API-key scope the route needs (docs/auth.md#scopes); a session has every scope of its role. */
        scope: (scope: string) => ({
          beforeHandle({ request }) {
            const principal = stateOf(request).principal!
            if (!hasScope(principal, scope)) {
              throw forbidden(`Missing scope ${scope}`, { required: scope, granted: grantedScopes(principal) })
            }
          },
        }),
        /** Minimum role: staff = agent, admin or superadmin. */
        role: (role: 'staff' | 'admin' | 'superadmin') => ({
          beforeHandle({ request }) {
            const r: Role = stateOf(request).principal!.user.role
            const ok = role === 'staff' ? isStaff(r) : role === 'admin' ? isAdmin(r) : r === 'superadmin'
            if (!ok) throw forbidden(`Requires ${role} role`, { required_role: role })
          },
        }),
      })
  )
}

/** Context of /public routes: no bearer required. */
export function publicContext() {
  return new Elysia().onTransform({ as: 'scoped' }, objectBody(false)).derive({ as: 'scoped' }, ({ request }) => {
    const s = stateOf(request)
    return { requestId: s.id, clientIp: s.ip }
  })
}

export const authedRouter = (prefix = '') => new Elysia({ prefix }).use(authedContext())
export const publicRouter = (prefix = '') => new Elysia({ prefix }).use(publicContext())

export type RouterFactory = typeof authedRouter
export type PublicRouterFactory = typeof publicRouter

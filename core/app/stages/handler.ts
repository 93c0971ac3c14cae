/**
 * Stage `handler`: Elysia routes the request, parses and validates it and runs the route's
 * handler. Elysia's only part in the request path: its two global hooks below hand what the
 * handler returned (or threw) back to the pipeline, which answers it in the stages after this one.
 *
 * Both hooks return CAPTURED, one empty Response made once, with `set` left clean (status 200, no
 * headers): Elysia then passes it through untouched, so no Response is built here and the
 * envelope and header stages build the one that is sent.
 *
 * Elysia decides whether a hook is async from its source text (`async`, `await`, or
 * `return f(` / `=> f(`), and compiles every route `async` when one is: these hooks return no
 * call (tests/sync-handlers.test.ts checks the compiled handler).
 */
import { Elysia, type AnyElysia } from 'elysia'
import { validation } from '../../errors/index.ts'
import { maybeStateOf, setState, type Exchange } from '../../http/index.ts'

/** What the hooks hand Elysia instead of a response. Never sent. */
const CAPTURED = new Response(null)

type Set = { headers: Record<string, string | number>; status?: number | string }

/** Takes the status and non-empty headers the handler set, and leaves `set` as Elysia made it. */
function takeSet(x: Exchange, set: Set) {
  x.handlerStatus = set.status
  set.status = 200
  for (const _ in set.headers) {
    x.handlerHeaders = set.headers
    set.headers = Object.create(null)
    break
  }
}

/** The route handler's value. Also called after onError with CAPTURED: nothing to take then. */
function captureValue({
  request,
  response,
  set,
  route,
}: {
  request: Request
  response: unknown
  set: Set
  route?: string
}) {
  const x = maybeStateOf(request) as Exchange | undefined
  if (x === undefined || response === CAPTURED) return
  x.captured = true
  x.value = response
  x.route = route
  takeSet(x, set)
  return CAPTURED
}

/** Anything thrown inside Elysia (validation, parse, not found, the handler), for the error mapper. */
function captureError({
  request,
  code,
  error,
  set,
  route,
}: {
  request: Request
  code: unknown
  error: unknown
  set: Set
  route?: string
}) {
  const x = maybeStateOf(request) as Exchange | undefined
  if (x === undefined) return
  x.caught = true
  x.thrown = error
  x.errorCode = code
  x.route = route
  takeSet(x, set)
  return CAPTURED
}

type NumericKey = readonly [key: string, pattern: RegExp, kind: 'integer' | 'number']
const INTEGER = /^-?(0|[1-9][0-9]{0,14})$/
const NUMBER = /^-?(0|[1-9][0-9]{0,14})(\.[0-9]{1,15})?$/

/** The query keys of each route that its schema types as integer or number. */
function numericQueryKeys(root: AnyElysia): Map<string, NumericKey[]> {
  const byRoute = new Map<string, NumericKey[]>()
  for (const r of root.routes) {
    const props = (
      r.hooks as { query?: { properties?: Record<string, { type?: string; anyOf?: { type?: string }[] }> } }
    )?.query?.properties
    if (!props) continue
    const keys: NumericKey[] = []
    for (const [key, s] of Object.entries(props)) {
      const types = [s.type, ...(s.anyOf ?? []).map((a) => a.type)]
      if (types.includes('integer')) keys.push([key, INTEGER, 'integer'])
      else if (types.includes('number')) keys.push([key, NUMBER, 'number'])
    }
    if (keys.length) byRoute.set(`${r.method} ${r.path}`, keys)
  }
  return byRoute
}

/**
 * Numbers in a query are plain decimals (docs/security.md#parameters): Elysia would read `0x10`
 * as 16 and `1e20` as a number PostgreSQL cannot take. Checked on the raw query string, only for
 * the keys the route's schema types as numbers; a refusal is 422 with `details.field`.
 */
function strictQueryNumbers(root: AnyElysia) {
  let keysOf: Map<string, NumericKey[]> | undefined
  return function strictQuery({ request, route }: { request: Request; route: string }) {
    const url = request.url
    const q = url.indexOf('?')
    if (q < 0) return
    if (keysOf === undefined) keysOf = numericQueryKeys(root)
    const keys = keysOf.get(`${request.method} ${route}`)
    if (keys === undefined) return
    const params = new URLSearchParams(url.slice(q + 1))
    for (const [key, pattern, kind] of keys) {
      for (const v of params.getAll(key)) {
        if (!pattern.test(v)) throw validation(key, `Expected a plain decimal ${kind}`)
      }
    }
  }
}

/** The root instance every plugin's routes are mounted on. */
export function createRoot() {
  const root = new Elysia()
  return root
    .onTransform({ as: 'global' }, strictQueryNumbers(root) as never)
    .mapResponse({ as: 'global' }, captureValue as never)
    .onError({ as: 'global' }, captureError as never)
}

type Fetch = (request: Request) => Response | Promise<Response>

export function handlerStage(root: { fetch: Fetch }) {
  /** A Response that came back without passing the hooks (none known today) is the handler's. */
  const after = (x: Exchange, res: Response) => {
    if (x.caught) throw x.thrown
    if (!x.captured) {
      x.captured = true
      x.value = res
    }
  }
  const fetch = (x: Exchange) => root.fetch(x.request)

  return function handler(x: Exchange): void | Promise<void> {
    setState(x.request, x)
    // `fetch`, not `handle`: Elysia's handle is `async (r) => this.fetch(r)`, a promise per request
    // even when the route answers synchronously. fetch is compiled on first use, after every
    // plugin has mounted its routes.
    const res = x.span!.run(() => fetch(x))
    if (!(res instanceof Promise)) return after(x, res)
    return res.then((r) => after(x, r))
  }
}

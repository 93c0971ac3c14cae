/**
 * Routes WebSocket upgrades to plugin endpoints: each upgrade request runs through the HTTP
 * pipeline (auth, rate limit, headers) to a core-mounted GET route, which asks the endpoint to
 * accept it; the runtime adapter then upgrades with the endpoint's data.
 */
import { Elysia, t, type AnyElysia } from 'elysia'
import { AppError } from '../errors/index.ts'
import { API_VERSIONS, stateOf } from '../http/index.ts'
import type { Logger } from '../observability/index.ts'
import { authedRouter, type Zone } from '../plugin/index.ts'
import type { SocketAcceptance, SocketEndpoint, SocketServer } from '../plugin/index.ts'

/** Who owns a mounted route, as createApp records it for every route (core/app/mount.ts). */
interface RouteOwner {
  plugin: string
  tag?: { name: string; description?: string }
  zone: Zone
}

/** App.handle, as the router calls it. */
export type HandleFn = (request: Request, peer?: string | (() => string | undefined)) => Promise<Response>

export interface SocketRouter extends SocketServer {
  readonly endpoints: readonly SocketEndpoint<any>[]
  /** The endpoint a request upgrades to: `Upgrade: websocket` on `/api[/vN]/app<path>`. */
  match(request: Request): SocketEndpoint<any> | undefined
  /** Runs the upgrade request through the pipeline; `ok` means: upgrade it now with `data`. */
  accept(request: Request, peer?: string | (() => string | undefined)): Promise<SocketAcceptance>
  /** The endpoint whose accept() returned this data. */
  endpointOf(data: object): SocketEndpoint<any> | undefined
  /** A runtime adapter's local fan-out; publish() reaches every attached server. Returns detach. */
  attach(server: SocketServer): () => void
  /** Mounts the endpoint's GET route under /api/{v}/app for every version (createApp). */
  mount(
    root: AnyElysia,
    owners: Map<string, RouteOwner>,
    plugin: { name: string; tag?: RouteOwner['tag'] },
    endpoint: SocketEndpoint<any>,
  ): void
}

/** Carries the accept slot from accept() to the route; a random nonce, so a client cannot forge it. */
const SLOT_HEADER = 'x-omnistack-upgrade'
const APP_PATH = /^\/api(?:\/v\d+)?\/app(\/[^?#]*)/
// Hop-by-hop and body headers of the pipeline's answer that must not go on the 101.
const SKIP = new Set(['content-type', 'content-length', 'transfer-encoding', 'connection', 'upgrade', 'keep-alive'])

interface Slot {
  endpoint?: SocketEndpoint<any>
  data?: object
}

export function createSocketRouter(options: { handle: HandleFn; logger: Logger }): SocketRouter {
  const byPath = new Map<string, SocketEndpoint<any>>()
  const endpoints: SocketEndpoint<any>[] = []
  const slots = new Map<string, Slot>()
  const owners = new WeakMap<object, SocketEndpoint<any>>()
  const servers = new Set<SocketServer>()

  const route = (endpoint: SocketEndpoint<any>) =>
    authedRouter().get(
      endpoint.path,
      async ({ request, principal, clientIp, requestId }) => {
        const slot = slots.get(request.headers.get(SLOT_HEADER) ?? '')
        if (!slot) {
          throw new AppError(
            'UPGRADE_REQUIRED',
            'This route speaks WebSocket: send the request with Upgrade: websocket',
            { upgrade: 'websocket' },
            { upgrade: 'websocket', connection: 'Upgrade' },
          )
        }
        const data = await endpoint.accept({
          principal,
          clientIp,
          requestId,
          version: stateOf(request).version,
          request,
        })
        slot.endpoint = endpoint
        slot.data = data
        // Never sent: the runtime answers 101 instead and copies these headers onto it.
        return new Response(null, { status: 200 })
      },
      {
        query: t.Object({
          token: t.Optional(t.String({ description: 'JWT or API key (browsers cannot set headers on WebSocket)' })),
        }),
        detail: {
          summary: endpoint.detail?.summary ?? 'Open a WebSocket',
          description: endpoint.detail?.description ?? 'WebSocket upgrade; the token may be passed as `?token=`.',
          responses: {
            101: { description: 'Switching Protocols: the WebSocket is open' },
            426: { description: 'A plain HTTP request, without `Upgrade: websocket` (UPGRADE_REQUIRED)' },
          },
        },
      },
    )

  return {
    endpoints,
    match(request) {
      const upgrade = request.headers.get('upgrade')
      if (upgrade === null || upgrade.toLowerCase() !== 'websocket') return undefined
      const url = request.url
      const m = APP_PATH.exec(url.slice(url.indexOf('/', url.indexOf('//') + 2)))
      return m ? byPath.get(m[1]!) : undefined
    },
    async accept(request, peer) {
      const nonce = crypto.randomUUID()
      const slot: Slot = {}
      slots.set(nonce, slot)
      try {
        const headers = new Headers(request.headers)
        headers.set(SLOT_HEADER, nonce)
        // docs/auth.md#tokens-in-the-query-string: `?token=` is accepted on the WebSocket route, as browsers cannot set headers.
        const token = new URL(request.url).searchParams.get('token')
        if (token && !headers.has('authorization')) headers.set('authorization', `Bearer ${token}`)
        const response = await options.handle(new Request(request.url, { method: 'GET', headers }), peer)
        if (!slot.endpoint || !slot.data || response.status !== 200) return { ok: false, response }
        owners.set(slot.data, slot.endpoint)
        const forward: Record<string, string> = {}
        response.headers.forEach((value, key) => {
          if (!SKIP.has(key)) forward[key] = value
        })
        return { ok: true, endpoint: slot.endpoint, data: slot.data, headers: forward }
      } finally {
        slots.delete(nonce)
      }
    },
    endpointOf: (data) => owners.get(data),
    attach(server) {
      servers.add(server)
      return () => servers.delete(server)
    },
    publish(topic, text) {
      for (const s of servers) s.publish(topic, text)
    },
    mount(root, routeOwners, plugin, endpoint) {
      if (!endpoint.path.startsWith('/'))
        throw new Error(`WebSocket path "${endpoint.path}" of plugin "${plugin.name}" must start with /`)
      if (byPath.has(endpoint.path))
        throw new Error(`WebSocket path /app${endpoint.path} is declared twice (plugin "${plugin.name}")`)
      byPath.set(endpoint.path, endpoint)
      endpoints.push(endpoint)
      for (const version of API_VERSIONS) {
        const before = root.routes.length
        root.use(new Elysia({ prefix: `/api/${version}/app` }).use(route(endpoint)))
        for (const r of root.routes.slice(before))
          routeOwners.set(`${r.method} ${r.path}`, { plugin: plugin.name, tag: plugin.tag, zone: 'app' })
      }
      options.logger.debug('websocket endpoint mounted', { plugin: plugin.name, path: `/api/{v}/app${endpoint.path}` })
    },
  }
}

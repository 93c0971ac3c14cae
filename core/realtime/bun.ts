/** Bun side of plugin WebSockets: server.upgrade after the pipeline accepted, native pub/sub, 1001 on shutdown. */
import type { Server, ServerWebSocket, WebSocketHandler } from 'bun'
import type { SocketRouter } from './router.ts'
import { mergeLimits, type SocketEndpoint } from '../plugin/index.ts'

export interface BunSockets {
  readonly websocket: WebSocketHandler<object>
  /** True when the request is an upgrade to a plugin endpoint. */
  wants(request: Request): boolean
  /** Authenticates through the pipeline and upgrades; a Response when refused. */
  upgrade(request: Request, server: Server<object>): Promise<Response | undefined>
  /** Local fan-out through `server.publish`; returns detach. */
  attach(server: Server<object>): () => void
  /** Closes every open socket (graceful shutdown: 1001 Going Away). */
  closeAll(code: number, reason: string): void
}

/** Undefined when no plugin declares a WebSocket endpoint (Bun.serve then gets no handler). */
export function bunSockets(router: SocketRouter): BunSockets | undefined {
  if (router.endpoints.length === 0) return undefined
  const limits = mergeLimits(router.endpoints)
  const single = router.endpoints.length === 1 ? router.endpoints[0] : undefined
  const endpointOf = (ws: ServerWebSocket<object>): SocketEndpoint<any> | undefined =>
    single ?? router.endpointOf(ws.data)
  const open = new Set<ServerWebSocket<object>>()
  let closing: { code: number; reason: string } | undefined

  return {
    websocket: {
      maxPayloadLength: limits.maxPayloadBytes,
      idleTimeout: Math.min(limits.idleTimeoutSeconds, 960),
      backpressureLimit: limits.backpressureBytes,
      // A slow reader is closed rather than buffered without bound (server.publish included).
      closeOnBackpressureLimit: true,
      sendPings: true,
      publishToSelf: false,
      perMessageDeflate: false,
      open(ws) {
        // An upgrade that was still being accepted when shutdown began.
        if (closing) return ws.close(closing.code, closing.reason)
        open.add(ws)
        endpointOf(ws)?.open?.(ws)
      },
      message(ws, message) {
        endpointOf(ws)?.message?.(ws, message)
      },
      close(ws, code, reason) {
        if (!open.delete(ws)) return
        endpointOf(ws)?.close?.(ws, code, reason)
      },
    },
    wants: (request) => router.match(request) !== undefined,
    async upgrade(request, server) {
      const r = await router.accept(request, () => server.requestIP(request)?.address)
      if (!r.ok) return r.response
      if (server.upgrade(request, { data: r.data, headers: r.headers })) return undefined
      return Response.json(
        { error: { code: 'BAD_REQUEST', message: 'WebSocket upgrade failed', details: {} } },
        { status: 400, headers: { 'x-request-id': r.headers['x-request-id'] ?? '' } },
      )
    },
    attach: (server) => router.attach({ publish: (topic, text) => void server.publish(topic, text) }),
    closeAll(code, reason) {
      closing = { code, reason }
      for (const ws of [...open]) ws.close(code, reason)
    },
  }
}

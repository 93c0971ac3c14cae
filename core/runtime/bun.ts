/** Bun entry: Bun.serve over app.handle with the socket's address, body limit, and SIGTERM drain. */
import type { WebSocketHandler } from 'bun'
import type { App } from '../app/index.ts'
import { isLongLived } from '../http/index.ts'
import { bunSockets } from '../realtime/index.ts'
import { closeConnection, shutdownGraceMs } from './grace.ts'

export interface ServeOptions {
  port?: number
  hostname?: string
  /** Handle SIGTERM/SIGINT: stop accepting, drain, stop the app, exit 0 (default true). */
  signals?: boolean
}

export interface RunningServer {
  readonly port: number
  readonly url: string
  /**
   * Readiness 503, keep accepting for SHUTDOWN_GRACE_MS, then stop accepting, wait for in-flight
   * requests up to SHUTDOWN_TIMEOUT_MS, then stop the app.
   */
  shutdown(): Promise<void>
}

export function serve(app: App, options: ServeOptions = {}): RunningServer {
  // Plugin WebSocket endpoints (core/realtime): upgraded after the pipeline authenticated them.
  const sockets = bunSockets(app.sockets)
  const server = Bun.serve<object>({
    port: options.port ?? app.config.port,
    hostname: options.hostname ?? app.config.host,
    // docs/performance-notes.md#buns-body-size-default: Bun's default is 128 MB; nothing we accept is larger than an upload or a JSON body.
    maxRequestBodySize: Math.max(app.config.maxUploadBytes, app.config.maxJsonBytes),
    // The peer address is read only when a request needs it (public routes, audit).
    fetch: (request, srv) => {
      if (sockets?.wants(request)) return sockets.upgrade(request, srv)
      const response = app.serve(request, () => srv.requestIP(request)?.address)
      const settle = (res: Response) => {
        // An event stream is silent between heartbeats (30 s): Bun's idle timeout (10 s) would cut it.
        if (isLongLived(res)) srv.timeout(request, 0)
        // While draining, each answer closes its connection: clients reconnect (to another replica)
        // instead of reusing a keep-alive socket that would be reset when the listener closes.
        return draining ? closeConnection(res) : res
      }
      return response instanceof Promise ? response.then(settle) : settle(response)
    },
    // Without endpoints this is undefined, which Bun treats as no WebSocket support.
    websocket: sockets?.websocket as WebSocketHandler<object>,
    // Only if something escaped the pipeline (which answers every error itself): still the
    // contract's shape, with a request id to quote.
    error: (err) => {
      const requestId = crypto.randomUUID()
      app.logger.error('server error', { error: err, request_id: requestId })
      return new Response(
        JSON.stringify({
          error: { code: 'INTERNAL_ERROR', message: 'Internal server error', details: { request_id: requestId } },
        }),
        {
          status: 500,
          headers: { 'content-type': 'application/json', 'x-request-id': requestId },
        },
      )
    },
  })

  const detach = sockets?.attach(server)

  let draining = false
  let closing: Promise<void> | undefined
  const shutdown = () => {
    closing ??= (async () => {
      // Readiness turns 503 at once; the listener stays open for the grace period so a load
      // balancer that still routes here is answered, not reset (docs/deployment.md#shutdown).
      draining = true
      app.drain()
      const grace = shutdownGraceMs(app)
      if (grace > 0) {
        app.logger.info('shutting down: readiness is 503, still accepting', { grace_ms: grace })
        await Bun.sleep(grace)
      }
      // Closing the listener resets the connections still in the kernel's accept queue, which fills
      // whenever this process is busy (CPU load): one timer turn of the event loop first accepts every
      // connection established before acceptedBefore (setImmediate would not poll the sockets).
      const acceptedBefore = Date.now()
      await Bun.sleep(0)
      // stop(false) stops accepting at once and resolves when in-flight requests are done.
      const stopped = server.stop(false)
      app.logger.info('shutting down: draining in-flight requests', { accepted_before: acceptedBefore })
      const timeout = app.config.shutdownTimeoutMs
      // Open WebSockets and event streams would hold stop(false) until the timeout: sockets close
      // with 1001 Going Away and plugins end their streams (their drain hook) as it begins.
      sockets?.closeAll(1001, 'Server shutting down')
      const drained = Promise.all([stopped, app.drainPlugins()])
      await Promise.race([drained, Bun.sleep(timeout).then(() => server.stop(true))])
      detach?.()
      await app.stop()
      app.logger.info('shutdown complete')
    })()
    return closing
  }

  if (options.signals !== false) {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      process.once(sig, () => {
        shutdown().then(
          () => process.exit(0),
          (err) => {
            app.logger.error('shutdown failed', { error: err })
            process.exit(1)
          },
        )
      })
    }
  }
  const port = server.port ?? 0
  return { port, url: `http://127.0.0.1:${port}`, shutdown }
}

/** Deno entry: Deno.serve over app.handle with the peer address (docs/performance-notes.md#what-deno-does-not-have: app.listen is Bun-only). */
import type { App } from '../app/index.ts'
import { denoSockets, type DenoUpgrader } from '../realtime/index.ts'
import { closeConnection, shutdownGraceMs } from './grace.ts'

interface DenoLike extends DenoUpgrader {
  serve(
    options: { port: number; hostname?: string; onListen?: (addr: { port: number }) => void },
    handler: (request: Request, info: { remoteAddr: { hostname: string } }) => Response | Promise<Response>,
  ): { finished: Promise<void>; shutdown(): Promise<void>; addr: { port: number } }
  addSignalListener(signal: string, fn: () => void): void
  exit(code: number): never
}

export function serveDeno(app: App, options: { port?: number; hostname?: string } = {}) {
  const Deno = (globalThis as unknown as { Deno: DenoLike }).Deno
  // Plugin WebSocket endpoints through Deno.upgradeWebSocket, fanned out in-process (core/realtime).
  const sockets = denoSockets(app.sockets, Deno)
  let draining = false
  const server = Deno.serve(
    { port: options.port ?? app.config.port, hostname: options.hostname ?? app.config.host, onListen: () => {} },
    (request, info) => {
      if (sockets?.wants(request)) return sockets.upgrade(request, info.remoteAddr.hostname)
      const response = app.handle(request, info.remoteAddr.hostname)
      return draining ? response.then(closeConnection) : response
    },
  )
  let closing = false
  const shutdown = async () => {
    if (closing) return
    closing = true
    // As on Bun: readiness 503 at once, keep accepting for the grace period, then drain.
    draining = true
    app.drain()
    const grace = shutdownGraceMs(app)
    if (grace > 0) await new Promise((r) => setTimeout(r, grace))
    sockets?.closeAll(1001, 'Server shutting down')
    // As on Bun, in-flight requests get SHUTDOWN_TIMEOUT_MS; Deno.exit below ends any still running.
    // Plugins end their event streams (their drain hook), which would otherwise hold it that long.
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeout = new Promise((r) => (timer = setTimeout(r, app.config.shutdownTimeoutMs)))
    await Promise.race([Promise.all([server.shutdown(), app.drainPlugins()]), timeout])
    clearTimeout(timer)
    await app.stop()
    app.logger.info('shutdown complete')
    Deno.exit(0)
  }
  Deno.addSignalListener('SIGTERM', shutdown)
  Deno.addSignalListener('SIGINT', shutdown)
  return server
}

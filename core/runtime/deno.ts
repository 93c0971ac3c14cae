/** Deno entry: Deno.serve over app.handle with the peer address (PITFALLS: app.listen is Bun-only). */
import type { App } from '../app/create-app.ts'
import { denoSockets, type DenoUpgrader } from '../realtime/index.ts'

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
  const server = Deno.serve(
    { port: options.port ?? app.config.port, hostname: options.hostname ?? app.config.host, onListen: () => {} },
    (request, info) =>
      sockets?.wants(request) ? sockets.upgrade(request, info.remoteAddr.hostname) : app.handle(request, info.remoteAddr.hostname),
  )
  Deno.addSignalListener('SIGTERM', async () => {
    sockets?.closeAll(1001, 'Server shutting down')
    await server.shutdown()
    await app.stop()
    Deno.exit(0)
  })
  return server
}

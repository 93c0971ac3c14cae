/** Deno entry: Deno.serve over app.handle with the peer address (PITFALLS: app.listen is Bun-only). */
import type { App } from '../app/create-app.ts'

interface DenoLike {
  serve(
    options: { port: number; hostname?: string; onListen?: (addr: { port: number }) => void },
    handler: (request: Request, info: { remoteAddr: { hostname: string } }) => Response | Promise<Response>,
  ): { finished: Promise<void>; shutdown(): Promise<void>; addr: { port: number } }
  addSignalListener(signal: string, fn: () => void): void
  exit(code: number): never
}

export function serveDeno(app: App, options: { port?: number; hostname?: string } = {}) {
  const Deno = (globalThis as unknown as { Deno: DenoLike }).Deno
  const server = Deno.serve(
    { port: options.port ?? app.config.port, hostname: options.hostname ?? app.config.host, onListen: () => {} },
    (request, info) => app.handle(request, info.remoteAddr.hostname),
  )
  Deno.addSignalListener('SIGTERM', async () => {
    await server.shutdown()
    await app.stop()
    Deno.exit(0)
  })
  return server
}

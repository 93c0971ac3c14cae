/** How long a server keeps accepting after SIGTERM (docs/deployment.md#shutdown), for both runtimes. */
import type { App } from '../app/index.ts'

/** SHUTDOWN_GRACE_MS, or 5 s in production and none in development. */
export function shutdownGraceMs(app: App): number {
  return app.config.shutdownGraceMs ?? (app.config.nodeEnv === 'production' ? 5000 : 0)
}

/** While draining, each answer closes its connection: the client reconnects rather than reuse a socket about to close. */
export function closeConnection(response: Response): Response {
  try {
    response.headers.set('connection', 'close')
  } catch {
    // Immutable headers (a proxied response): the connection closes with the listener.
  }
  return response
}

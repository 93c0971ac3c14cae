/**
 * Serves a starter's app on the runtime that runs the file: Bun (`Bun.serve`) or Deno
 * (`Deno.serve`), picked by the `Deno` global, so each starter has one entry for both
 * (docs/performance-notes.md#what-deno-does-not-have: `app.listen` is Bun-only). Both handle
 * SIGTERM and SIGINT: readiness 503, drain, stop the app.
 */
import { type App, serve, serveDeno } from '../core/index.ts'

export function launch(app: App, starter: string) {
  const runtime = 'Deno' in globalThis ? 'deno' : 'bun'
  const port = runtime === 'deno' ? serveDeno(app).addr.port : serve(app).port
  app.logger.info(`OmniStack ${starter} listening`, {
    url: `http://${app.config.host}:${port}`,
    docs: `${app.config.publicUrl}/docs`,
    database: app.db.kind,
    runtime,
  })
}

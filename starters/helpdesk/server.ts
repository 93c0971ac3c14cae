/** Bun entry of the helpdesk starter (`npm run start:helpdesk`). */
import { serve } from '../../core/index.ts'
import { createHelpdeskApp } from './app.ts'

const app = await createHelpdeskApp()
const server = serve(app)
app.logger.info('OmniStack helpdesk listening', {
  url: `http://${app.config.host}:${server.port}`,
  docs: `${app.config.publicUrl}/docs`,
  database: app.db.kind,
})

/** Bun entry of the SaaS starter (`npm start`). */
import { serve } from '../../core/index.ts'
import { createSaasApp } from './app.ts'

const app = await createSaasApp()
const server = serve(app)
app.logger.info('OmniStack listening', {
  url: `http://${app.config.host}:${server.port}`,
  docs: `${app.config.publicUrl}/docs`,
  database: app.db.kind,
})

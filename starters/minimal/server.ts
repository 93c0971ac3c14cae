/** Bun entry of the minimal starter. */
import { serve } from '../../core/index.ts'
import { createMinimalApp } from './app.ts'

const app = await createMinimalApp()
const server = serve(app)
app.logger.info('OmniStack minimal starter listening', { url: `http://${app.config.host}:${server.port}` })

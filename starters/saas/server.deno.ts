/** Deno entry of the SaaS starter: `deno run -A starters/saas/server.deno.ts`. */
import { serveDeno } from '../../core/index.ts'
import { createSaasApp } from './app.ts'

const app = await createSaasApp()
serveDeno(app)

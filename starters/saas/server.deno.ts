/** Deno entry of the SaaS starter: `deno run -A starters/saas/server.deno.ts`. */
import { serveDeno } from '../../core/runtime/deno.ts'
import { createSaasApp } from './app.ts'

const app = await createSaasApp()
serveDeno(app)

/** The SaaS starter's entry on Bun or Deno: `npm start`, `npm run start:deno`. */
import { launch } from '../launch.ts'
import { createSaasApp } from './app.ts'

launch(await createSaasApp(), 'saas')

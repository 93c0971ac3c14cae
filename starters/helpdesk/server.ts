/** The helpdesk starter's entry on Bun or Deno: `npm start -- --starter helpdesk`, `npm run start:deno -- --starter helpdesk`. */
import { launch } from '../launch.ts'
import { createHelpdeskApp } from './app.ts'

launch(await createHelpdeskApp(), 'helpdesk')

/** The minimal starter's entry on Bun or Deno: `npm start -- --starter minimal`, `npm run start:deno -- --starter minimal`. */
import { launch } from '../launch.ts'
import { createMinimalApp } from './app.ts'

launch(await createMinimalApp(), 'minimal')

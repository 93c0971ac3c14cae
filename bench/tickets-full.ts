/** The tickets list behind the whole core (bench/tickets-run.sh): users, files and tickets on DATABASE_URL. */
import { createApp } from '../core/index.ts'
import { serve } from '../core/index.ts'
import files from '../plugins/files/index.ts'
import tickets from '../plugins/tickets/index.ts'
import users from '../plugins/users/index.ts'

const app = await createApp({ plugins: [users, files, tickets] })
const server = serve(app, { hostname: '127.0.0.1' })
console.log(`listening ${server.port}`)

/**
 * The tickets reports behind the whole core (bench/tickets-reports-run.sh): users, files and tickets
 * on DATABASE_URL. BENCH_NOW (ISO 8601) fixes the tickets plugin's clock, so that the windows of
 * the reports cover the seeded history (2024-01-01 to 2024-01-12); without it, the real clock.
 */
import { createApp, serve } from '../core/index.ts'
import files from '../plugins/files/index.ts'
import { createTicketsPlugin } from '../plugins/tickets/index.ts'
import users from '../plugins/users/index.ts'

const fixed = process.env.BENCH_NOW ? new Date(process.env.BENCH_NOW) : undefined
const tickets = createTicketsPlugin(fixed ? { now: () => new Date(fixed) } : {})
const app = await createApp({ plugins: [users, files, tickets] })
const server = serve(app, { hostname: '127.0.0.1' })
console.log(`listening ${server.port}`)

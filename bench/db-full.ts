/**
 * The full stack on a database route: GET /api/v2/app/projects?limit=20 with the projects plugin
 * behind the whole core (HS256 bearer, user provisioning, rate limit, request id, headers, v2
 * envelope, metrics), on DATABASE_URL. The list is core/db/paged.ts: the page through
 * projects_owner_created_idx and a separate capped count.
 */
import { createApp } from '../core/index.ts'
import { serve } from '../core/index.ts'
import projects from '../plugins/projects/index.ts'

const app = await createApp({ plugins: [projects] })
const server = serve(app, { hostname: '127.0.0.1' })
console.log(`listening ${server.port}`)

/** OpenAPI document and the offline Swagger UI / ReDoc pages. */
import { Elysia } from 'elysia'
import { docsPages } from './docs-pages.ts'

export { buildOpenApi } from './build.ts'
export { jsonDoc, type ResponseDoc } from './response-doc.ts'

export function openApiRoutes(spec: () => Record<string, unknown>) {
  return new Elysia()
    .get('/openapi.json', () => spec(), { detail: { hide: true } })
    .use(docsPages({ specPath: '/openapi.json', title: 'OmniStack API' }))
}

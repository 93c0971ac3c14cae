/** OpenAPI documents (both versions, and one per version) and the offline Swagger UI / ReDoc pages. */
import { Elysia } from 'elysia'
import type { ApiDocVersion } from './components.ts'
import { combinedDocument, versionDocument } from './documents.ts'
import { docsPages } from './docs-pages.ts'

export { buildOpenApi } from './build.ts'
export type { ApiDocVersion } from './components.ts'
export { combinedDocument, versionDocument } from './documents.ts'
export { jsonDoc, NOT_ENVELOPED, type ResponseDoc } from './response-doc.ts'

/**
 * GET /openapi.json (both versions, operationIds prefixed `v1_`/`v2_`), /openapi/v1.json and
 * /openapi/v2.json (one version each), /docs and /redoc (v2 first, switchable to v1 and both).
 */
export function openApiRoutes(spec: () => Record<string, unknown>) {
  let combined: Record<string, unknown> | undefined
  const perVersion = new Map<ApiDocVersion, Record<string, unknown>>()
  const version = (v: ApiDocVersion) => {
    let doc = perVersion.get(v)
    if (!doc) perVersion.set(v, (doc = versionDocument(spec(), v)))
    return doc
  }
  const hide = { detail: { hide: true } }
  return new Elysia()
    .get('/openapi.json', () => (combined ??= combinedDocument(spec())), hide)
    .get('/openapi/v1.json', () => version('v1'), hide)
    .get('/openapi/v2.json', () => version('v2'), hide)
    .use(
      docsPages({
        specPath: '/openapi.json',
        title: 'OmniStack API',
        documents: [
          { name: 'v2', url: '/openapi/v2.json' },
          { name: 'v1', url: '/openapi/v1.json' },
          { name: 'v1 + v2', url: '/openapi.json' },
        ],
      }),
    )
}

/**
 * The documents served from one built document: one per version (/openapi/v1.json,
 * /openapi/v2.json) and both in one (/openapi.json), operationIds prefixed there.
 */
import type { ApiDocVersion, Json } from './components.ts'

export const PRE_ROUTING =
  'Before routing, any request may be refused with 414 URI_TOO_LONG or 431 HEADERS_TOO_LARGE ' +
  '(the error schema; listed on every operation).'

export const versionOf = (path: string): ApiDocVersion => (path.startsWith('/api/v1/') ? 'v1' : 'v2')

/**
 * One version of the document: its paths only, the tags they use, and its operationIds as they
 * are (`projects_list`). The document with both versions prefixes them (`v2_projects_list`) to
 * keep them unique: see `combinedDocument`.
 */
export function versionDocument(doc: Record<string, unknown>, version: ApiDocVersion): Record<string, unknown> {
  const paths = Object.fromEntries(
    Object.entries(doc.paths as Json).filter(([p]) => p.startsWith(`/api/${version}/`)),
  ) as Record<string, Json>
  const used = new Set<string>()
  for (const ops of Object.values(paths))
    for (const op of Object.values(ops)) for (const t of op.tags ?? []) used.add(t)
  const other = version === 'v1' ? 'ErrorV2' : 'Error'
  const { [other]: _, ...schemas } = (doc.components as Json).schemas as Json
  const keep =
    version === 'v1' ? Object.fromEntries(Object.entries(schemas).filter(([n]) => !/Meta|Pagination/.test(n))) : schemas
  return {
    ...doc,
    info: {
      ...(doc.info as Json),
      title: `OmniStack API ${version}`,
      description: `${
        version === 'v2'
          ? 'Version 2: success bodies are {data, meta}; a list puts its items in data and its counts in meta.pagination; errors are {error, meta}.'
          : 'Version 1: success bodies are the resources themselves; a list is {items, total, skip, limit}; errors are {error}.'
      } ${PRE_ROUTING}`,
    },
    tags: ((doc.tags as Json[]) ?? []).filter((t) => used.has(t.name)),
    paths,
    components: { ...(doc.components as Json), schemas: keep },
  }
}

/** Both versions in one document (/openapi.json), operationIds prefixed with their version. */
export function combinedDocument(doc: Record<string, unknown>): Record<string, unknown> {
  const paths: Json = {}
  for (const [path, ops] of Object.entries(doc.paths as Json)) {
    paths[path] = Object.fromEntries(
      Object.entries(ops as Json).map(([m, op]) => [
        m,
        { ...(op as Json), operationId: `${versionOf(path)}_${(op as Json).operationId}` },
      ]),
    )
  }
  return { ...doc, paths }
}

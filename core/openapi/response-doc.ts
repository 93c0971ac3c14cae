/**
 * jsonDoc(): the OpenAPI documentation of a JSON response, for a route's `detail.responses`
 * (`responses: { 200: jsonDoc('A page of projects', ProjectModel.list) }`).
 *
 * Documented, not enforced: a `response` schema on the route would make Elysia validate and copy
 * the value, which drops page()'s marker and rejects the Dates handlers return. The core turns the
 * schema into the v2 envelope in /openapi.json.
 */
import type { TSchema } from 'elysia'

export interface ResponseDoc {
  description: string
  content: { 'application/json': { schema: any } }
}

export const jsonDoc = (description: string, schema: TSchema | Record<string, unknown>): ResponseDoc => ({
  description,
  content: { 'application/json': { schema } },
})

/**
 * An operation that answers its declared JSON as it is in v2 too (`detail: { [NOT_ENVELOPED]: true }`):
 * a protocol of its own (MCP's JSON-RPC) returned as a Response, which the core never wraps.
 */
export const NOT_ENVELOPED = 'x-not-enveloped'

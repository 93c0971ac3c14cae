/** Routes of an organization's API keys under /app/orgs/{org_id}/api-keys (docs/plugins/organizations-api-keys.md). */
import { envelope, jsonDoc, page, pageQuery, replayAs, t, type RouteContext } from '../../core/index.ts'
import { ORG_KEY_ROLES, type OrgApiKeysService } from './api-keys.ts'

const timestamp = t.String({ format: 'date-time' })

export namespace OrgApiKeyModel {
  export const key = t.Object({
    id: t.String({ format: 'uuid' }),
    org_id: t.String({ format: 'uuid' }),
    name: t.String(),
    prefix: t.String({ description: 'First 12 characters of the key, to recognise it' }),
    role: t.UnionEnum([...ORG_KEY_ROLES], { description: "The key's role in the organization" }),
    scopes: t.Array(t.String()),
    created_by: t.Union([t.String(), t.Null()], { description: 'The admin who created it (gives the key no rights)' }),
    created_at: timestamp,
    last_used_at: t.Union([timestamp, t.Null()]),
  })

  export const created = t.Composite([
    key,
    t.Object({
      key: t.Union([t.String(), t.Null()], {
        description: 'oso_ + 40 characters: shown once, never again (null in an Idempotency-Key replay)',
      }),
    }),
  ])

  export const create = t.Object({
    name: t.String({ minLength: 1, maxLength: 100 }),
    scopes: t.Array(
      t.String({
        pattern: '^[a-z][a-z0-9_-]{0,30}:([a-z][a-z0-9_-]{0,30}|\\*)$',
        maxLength: 64,
        description: '`resource:action` or `resource:*` (not `admin:full`)',
      }),
      { minItems: 1, maxItems: 50 },
    ),
    role: t.Optional(
      t.UnionEnum([...ORG_KEY_ROLES], {
        description: "The key's role in the organization (never owner)",
        default: 'member',
      }),
    ),
  })

  export const list = t.Object({ items: t.Array(key), total: t.Integer(), skip: t.Integer(), limit: t.Integer() })
  export const listQuery = t.Object(pageQuery)
  export const orgParams = t.Object({ org_id: t.String({ maxLength: 64 }) })
  export const keyParams = t.Object({ org_id: t.String({ maxLength: 64 }), key_id: t.String({ maxLength: 64 }) })
}

const WHO =
  "Owners and admins of the organization, from a session; a member below admin gets 403, anyone else (and another organization's key) 404."

export const orgApiKeyRoutes = ({ router, version }: RouteContext, keys: OrgApiKeysService) =>
  router('/orgs/:org_id/api-keys')
    .get(
      '',
      async ({ principal, params, query }) => {
        const { items, total } = await keys.list(principal, params.org_id, query)
        return page(items, total, query)
      },
      {
        params: OrgApiKeyModel.orgParams,
        query: OrgApiKeyModel.listQuery,
        detail: {
          summary: "List an organization's API keys",
          description: `Active keys, newest first; never the secret. ${WHO}`,
          responses: { 200: jsonDoc('A page of API keys', OrgApiKeyModel.list) },
        },
      },
    )
    .post(
      '',
      async ({ principal, params, body, requestId, clientIp, request }) => {
        const created = await keys.create(principal, params.org_id, body, { principal, requestId, clientIp })
        const shape = (v: typeof created) => JSON.stringify(version === 'v2' ? envelope(v, requestId) : v)
        // The body holds the secret: answered as a Response so that nothing (not even the
        // Idempotency-Key store) keeps a copy of it; a replay answers `key: null`.
        replayAs(request, shape({ ...created, key: null as unknown as string }))
        return new Response(shape(created), { status: 201, headers: { 'content-type': 'application/json' } })
      },
      {
        params: OrgApiKeyModel.orgParams,
        body: OrgApiKeyModel.create,
        detail: {
          summary: 'Create an API key of the organization',
          description: `Returns the key (\`oso_\` + 40 characters) once; only its hash is stored. The key acts as the organization (its service user \`org:<org_id>\`), with the given role (default member, never owner) and scopes. 409 beyond 100 active keys. ${WHO}`,
          responses: { 201: jsonDoc('The key, with its secret shown this once', OrgApiKeyModel.created) },
        },
      },
    )
    .delete(
      '/:key_id',
      async ({ principal, params, set, requestId, clientIp }) => {
        await keys.revoke(principal, params.org_id, params.key_id, { principal, requestId, clientIp })
        set.status = 204
      },
      {
        params: OrgApiKeyModel.keyParams,
        detail: {
          summary: 'Revoke an API key of the organization',
          description: `Takes effect at once on every replica; another organization's key is 404. ${WHO}`,
          responses: { 204: { description: 'Revoked' } },
        },
      },
    )

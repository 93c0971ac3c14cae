/** Users routes under /app: the caller's profile (docs/plugins/users.md) and API keys (docs/auth.md#api-keys). */
import { envelope, jsonDoc, notFound, page, replayAs, validation, type RouteContext } from '../../core/index.ts'
import type { ApiKeysService } from './api-keys.ts'
import { ApiKeyModel, UserModel } from './schema.ts'
import type { UsersService } from './service.ts'

/** The schema allows http(s)://...; this also refuses what URL parsing rejects (bad host, spaces). */
function checkAvatarUrl(url: string | null | undefined) {
  if (url === undefined || url === null) return
  try {
    const u = new URL(url)
    if ((u.protocol === 'http:' || u.protocol === 'https:') && u.hostname) return
  } catch {}
  throw validation('avatar_url', 'avatar_url must be a valid http(s) URL')
}

export const userRoutes = ({ router, version }: RouteContext, users: UsersService, keys: ApiKeysService) => {
  const me = async (id: string) => {
    const row = await users.get(id)
    if (!row) throw notFound('User', id)
    const [view] = await users.views([row])
    return users.present(view!, version)
  }
  const userSchema = version === 'v2' ? UserModel.userV2 : UserModel.user

  return router()
    .get('/users/me', ({ user }) => me(user.id), {
      scope: 'users:read',
      detail: {
        summary: 'Get the current user',
        description: 'v2 adds `is_premium` and `days_since_joined`.',
        responses: { 200: jsonDoc('The current user', userSchema) },
      },
    })
    .patch(
      '/users/me',
      async ({ user, body }) => {
        checkAvatarUrl(body.avatar_url)
        await users.updateProfile(user.id, body)
        return me(user.id)
      },
      {
        body: UserModel.update,
        scope: 'users:write',
        detail: {
          summary: 'Update the current user',
          description:
            'Only `full_name` (max 255) and `avatar_url` (http(s), max 2048) can be changed here; other fields are ignored.',
          responses: { 200: jsonDoc('The updated user', userSchema) },
        },
      },
    )
    .get(
      '/api-keys',
      async ({ principal, query }) => {
        const { items, total } = await keys.list(principal, query)
        return page(items, total, query)
      },
      {
        query: ApiKeyModel.listQuery,
        detail: {
          summary: 'List my API keys',
          description: 'Active keys, newest first: prefix, name, scopes, created_at, last_used_at. Never the secret.',
          responses: { 200: jsonDoc('A page of API keys', ApiKeyModel.list) },
        },
      },
    )
    .post(
      '/api-keys',
      async ({ principal, body, requestId, clientIp, request }) => {
        const created = await keys.create(principal, body, { principal, requestId, clientIp })
        const shape = (v: typeof created) => JSON.stringify(version === 'v2' ? envelope(v, requestId) : v)
        // The body holds the secret: answered as a Response so that nothing (not even the
        // Idempotency-Key store) keeps a copy of it. A retry with the same key replays the
        // same key without its secret (`key: null`) rather than creating a second one.
        replayAs(request, shape({ ...created, key: null as unknown as string }))
        return new Response(shape(created), { status: 201, headers: { 'content-type': 'application/json' } })
      },
      {
        body: ApiKeyModel.create,
        detail: {
          summary: 'Create an API key',
          description:
            'Returns the key (`osk_` + 40 characters) once; only its hash is stored. Needs a session (not an API key, not an impersonation). Under Idempotency-Key a retry replays the same key with `key: null` (the secret is kept nowhere, shown once) and creates nothing.',
          responses: { 201: jsonDoc('The key, with its secret shown this once', ApiKeyModel.created) },
        },
      },
    )
    .delete(
      '/api-keys/:id',
      async ({ principal, params, set, requestId, clientIp }) => {
        await keys.revoke(principal, params.id, { principal, requestId, clientIp })
        set.status = 204
      },
      {
        params: ApiKeyModel.params,
        detail: {
          summary: 'Revoke an API key',
          description: "Takes effect at once; someone else's key is 404.",
          responses: { 204: { description: 'Revoked' } },
        },
      },
    )
}

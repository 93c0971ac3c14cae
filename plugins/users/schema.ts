/** TypeBox models of the users plugin: profile, profile update, API keys (validation, types and OpenAPI in one). */
import { pageQuery, t } from '../../core/index.ts'
import type { TSchema } from 'elysia'

const nullable = <T extends TSchema>(s: T) => t.Union([s, t.Null()])
const timestamp = t.String({ format: 'date-time' })

/** `files:read`, `files:*`, `admin:full` ... */
export const SCOPE_PATTERN = '^[a-z][a-z0-9_-]{0,30}:([a-z][a-z0-9_-]{0,30}|\\*)$'

export namespace UserModel {
  export const user = t.Object({
    id: t.String({ description: "The identity provider's subject (JWT `sub`)" }),
    email: nullable(t.String()),
    full_name: nullable(t.String()),
    avatar_url: nullable(t.String()),
    role: t.UnionEnum(['user', 'agent', 'admin', 'superadmin']),
    is_active: t.Boolean(),
    subscription_plan: nullable(t.String({ description: '`free` unless a billing plugin says otherwise' })),
    subscription_status: nullable(t.String()),
    created_at: timestamp,
  })

  export const userV2 = t.Composite([
    user,
    t.Object({
      is_premium: t.Boolean({ description: 'v2: a paid plan in status active or trialing' }),
      days_since_joined: t.Integer({ description: 'v2: whole days since created_at' }),
    }),
  ])

  export const update = t.Object({
    full_name: t.Optional(nullable(t.String({ maxLength: 255, description: 'Display name (max 255 chars)' }))),
    avatar_url: t.Optional(
      nullable(
        t.String({
          maxLength: 2048,
          pattern: '^[Hh][Tt][Tt][Pp][Ss]?://[^\\s]+$',
          description: 'http(s) URL (max 2048 chars)',
        }),
      ),
    ),
  })
}

export namespace ApiKeyModel {
  export const key = t.Object({
    id: t.String({ format: 'uuid' }),
    name: t.String(),
    prefix: t.String({ description: 'First 12 characters of the key, to recognise it' }),
    scopes: t.Array(t.String()),
    created_at: timestamp,
    last_used_at: nullable(timestamp),
  })

  export const created = t.Composite([
    key,
    t.Object({
      key: t.Union([t.String(), t.Null()], {
        description: 'osk_ + 40 characters: shown once, never again (null in an Idempotency-Key replay)',
      }),
    }),
  ])

  export const create = t.Object({
    name: t.String({ minLength: 1, maxLength: 100 }),
    scopes: t.Array(
      t.String({
        pattern: SCOPE_PATTERN,
        maxLength: 64,
        description: '`resource:action`, `resource:*` or `admin:full`',
      }),
      {
        minItems: 1,
        maxItems: 50,
      },
    ),
  })

  export const list = t.Object({ items: t.Array(key), total: t.Integer(), skip: t.Integer(), limit: t.Integer() })
  export const listQuery = t.Object(pageQuery)
  export const params = t.Object({ id: t.String({ maxLength: 64 }) })
}

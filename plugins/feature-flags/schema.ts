/** TypeBox models of the feature-flags plugin (docs/plugins/feature-flags.md). */
import { pageQuery, t } from '../../core/index.ts'
import { FLAG_TYPES, REASONS } from './evaluate.ts'

export const KEY_PATTERN = '^[a-z0-9][a-z0-9_.-]{0,63}$'
/** Text PostgreSQL can store: no NUL character (it would fail in the database, a 500, instead of a 422). */
export const TEXT = '^[^\\u0000]*$'

/** Documented as an enum; checked by flagType() (Elysia gives t.UnionEnum a default, which a PATCH must not get). */
const flagType = t.String({
  enum: [...FLAG_TYPES],
  description: 'boolean: on/off · percentage: share of users · user_list: these user ids · plan_based: these plans',
})
const percentage = t.Number({ minimum: 0, maximum: 100, description: 'Share of users for percentage flags (0-100)' })
const userIds = t.Array(t.String({ minLength: 1, maxLength: 255, pattern: TEXT }), {
  maxItems: 10_000,
  description: 'User ids for user_list flags',
})
const plans = t.Array(t.String({ minLength: 1, maxLength: 64, pattern: TEXT }), {
  maxItems: 100,
  description: "Plans for plan_based flags, e.g. 'pro'",
})
const expiresAt = t.Union([t.String({ format: 'date-time' }), t.Null()], {
  description: 'After this instant the flag evaluates as disabled',
})
const name = t.String({ minLength: 1, maxLength: 200, pattern: TEXT })
const description = t.Union([t.String({ maxLength: 2000, pattern: TEXT }), t.Null()])

export namespace FlagModel {
  export const flag = t.Object({
    id: t.String({ format: 'uuid' }),
    key: t.String(),
    name: t.String(),
    description: t.Union([t.String(), t.Null()]),
    flag_type: t.String({ enum: [...FLAG_TYPES] }),
    is_enabled: t.Boolean(),
    percentage: t.Number(),
    user_ids: t.Array(t.String()),
    plans: t.Array(t.String()),
    expires_at: t.Union([t.String({ format: 'date-time' }), t.Null()]),
    created_at: t.String({ format: 'date-time' }),
    updated_at: t.String({ format: 'date-time' }),
  })

  export const list = t.Object({ items: t.Array(flag), total: t.Integer(), skip: t.Integer(), limit: t.Integer() })

  export const create = t.Object({
    key: t.String({
      pattern: KEY_PATTERN,
      description: 'Lowercase letters, digits, `_`, `.`, `-`; 1-64 chars, starting with a letter or digit',
    }),
    name,
    description: t.Optional(description),
    flag_type: t.Optional(flagType),
    is_enabled: t.Optional(t.Boolean({ description: 'Default false' })),
    percentage: t.Optional(percentage),
    user_ids: t.Optional(userIds),
    plans: t.Optional(plans),
    expires_at: t.Optional(expiresAt),
  })

  export const update = t.Object({
    name: t.Optional(name),
    description: t.Optional(description),
    flag_type: t.Optional(flagType),
    is_enabled: t.Optional(t.Boolean()),
    percentage: t.Optional(percentage),
    user_ids: t.Optional(userIds),
    plans: t.Optional(plans),
    expires_at: t.Optional(expiresAt),
  })

  export const params = t.Object({
    flag_id: t.String({ minLength: 1, maxLength: 64, pattern: TEXT, description: 'The flag id, or its key' }),
  })

  export const listQuery = t.Object(pageQuery)

  export const checkQuery = t.Object({
    user_id: t.String({ minLength: 1, maxLength: 255, pattern: TEXT, description: 'User to evaluate the flag for' }),
    plan: t.Optional(
      t.String({
        minLength: 1,
        maxLength: 64,
        pattern: TEXT,
        description: "Evaluate with this plan instead of the user's",
      }),
    ),
  })

  export const evaluation = t.Object({
    flag_key: t.String(),
    is_enabled: t.Boolean(),
    reason: t.String({ enum: [...REASONS] }),
  })

  export const mine = t.Object({
    flags: t.Record(t.String(), t.Boolean(), { description: 'Every flag by key: on or off for the caller' }),
    evaluations: t.Array(evaluation),
  })

  export const keyParams = t.Object({ flag_key: t.String({ minLength: 1, maxLength: 64, pattern: TEXT }) })
}

/** TypeBox models of the admin plugin: user management, jobs, dashboard, audit logs, impersonation, inbound webhook events. */
import { INBOUND_STATUSES, pageQuery, t } from '../../core/index.ts'
import type { TSchema } from 'elysia'

const nullable = <T extends TSchema>(s: T) => t.Union([s, t.Null()])
const timestamp = t.String({ format: 'date-time' })
// Unions of literals, not t.UnionEnum: Elysia fills an optional UnionEnum query field with its first value.
const oneOf = <const T extends string>(values: readonly T[], description: string) =>
  t.Union(values.map((v) => t.Literal(v)) as never as [ReturnType<typeof t.Literal<T>>], { description })
export const ROLE = oneOf(['user', 'agent', 'admin', 'superadmin'], 'user, agent, admin or superadmin')
export const JOB_STATE = oneOf(
  ['queued', 'running', 'completed', 'failed', 'dead'],
  'queued, running, completed, failed or dead',
)
const page = (item: TSchema) =>
  t.Object({ items: t.Array(item), total: t.Integer(), skip: t.Integer(), limit: t.Integer() })

export namespace AdminUserModel {
  export const user = t.Object({
    id: t.String(),
    email: nullable(t.String()),
    full_name: nullable(t.String()),
    avatar_url: nullable(t.String()),
    role: ROLE,
    is_active: t.Boolean(),
    subscription_plan: nullable(t.String()),
    subscription_status: nullable(t.String()),
    created_at: timestamp,
    updated_at: timestamp,
    deleted_at: nullable(
      t.String({ format: 'date-time', description: 'Deleted at the identity provider (row anonymised)' }),
    ),
  })
  export const list = page(user)
  export const listQuery = t.Object({
    ...pageQuery,
    search: t.Optional(
      t.String({ maxLength: 255, description: 'Substring of the email or the name, case-insensitive' }),
    ),
    role: t.Optional(ROLE),
    is_active: t.Optional(t.Boolean()),
  })
  export const params = t.Object({ user_id: t.String({ minLength: 1, maxLength: 255 }) })
  export const update = t.Object({
    role: t.Optional(ROLE),
    is_active: t.Optional(t.Boolean()),
  })
}

export namespace JobModel {
  export const job = t.Object({
    id: t.String({ format: 'uuid' }),
    name: t.String(),
    queue: t.String(),
    state: JOB_STATE,
    payload: t.Unknown(),
    attempts: t.Integer(),
    max_attempts: t.Integer(),
    last_error: nullable(t.String()),
    run_at: timestamp,
    created_at: timestamp,
    updated_at: timestamp,
    completed_at: nullable(timestamp),
  })
  export const list = page(job)
  export const listQuery = t.Object({
    ...pageQuery,
    state: t.Optional(JOB_STATE),
    queue: t.Optional(
      t.String({ minLength: 1, maxLength: 200, description: 'A queue (`contact`) or, with a dot, one job name' }),
    ),
  })
  export const params = t.Object({ job_id: t.String({ maxLength: 64 }) })
}

export namespace DashboardModel {
  export const stats = t.Record(t.String(), t.Record(t.String(), t.Unknown()), {
    description: 'Sections contributed by the installed plugins: users, subscriptions, webhooks, jobs ...',
  })
  export const entry = t.Object({
    id: t.String({ format: 'uuid' }),
    actor_id: nullable(t.String()),
    action: t.String(),
    resource_type: nullable(t.String()),
    resource_id: nullable(t.String()),
    details: t.Record(t.String(), t.Unknown()),
    ip_address: nullable(t.String()),
    request_id: nullable(t.String()),
    created_at: timestamp,
  })
  export const auditList = page(entry)
  export const auditQuery = t.Object({
    skip: pageQuery.skip,
    after: pageQuery.after,
    limit: t.Integer({ minimum: 1, maximum: 100, default: 50, description: 'Max results (1-100, default 50)' }),
    actor_id: t.Optional(t.String({ maxLength: 255 })),
    action: t.Optional(t.String({ maxLength: 100 })),
    resource_type: t.Optional(t.String({ maxLength: 100 })),
    resource_id: t.Optional(t.String({ maxLength: 255 })),
  })
}

export namespace ImpersonationModel {
  export const start = t.Object({
    user_id: t.String({ minLength: 1, maxLength: 255 }),
    reason: t.Optional(
      t.String({
        maxLength: 500,
        description: 'Why: recorded in the audit log when given; required when IMPERSONATION_REQUIRE_REASON=true',
      }),
    ),
  })
  const who = t.Object({ id: t.String(), email: nullable(t.String()), full_name: nullable(t.String()) })
  export const started = t.Object({
    message: t.String(),
    impersonated_user: who,
    token: t.String({ description: 'Bearer for /app/* as that user (and for /admin/impersonate/stop)' }),
    expires_at: timestamp,
  })
  export const stopped = t.Object({ message: t.String(), impersonated_user: who, ended_at: timestamp })
}

/** Inbound webhook events of every provider (the core's pipeline: billing, identity webhooks). */
export namespace InboundModel {
  export const listQuery = t.Object({
    ...pageQuery,
    provider: t.Optional(
      t.String({ minLength: 1, maxLength: 32, description: 'stripe, apple, google, clerk, supabase' }),
    ),
    type: t.Optional(t.String({ minLength: 1, maxLength: 128 })),
    // Not t.UnionEnum: Elysia gives it a default (its first value), which fills a missing query key.
    status: t.Optional(t.Union(INBOUND_STATUSES.map((s) => t.Literal(s)))),
  })
  export const params = t.Object({ event_id: t.String({ format: 'uuid' }) })
  const fields = {
    id: t.String({ format: 'uuid' }),
    provider: t.String(),
    event_id: t.String({ description: "The provider's event id (unique per provider)" }),
    type: t.String(),
    status: t.UnionEnum(INBOUND_STATUSES),
    subject: nullable(t.String()),
    user_id: nullable(t.String()),
    environment: nullable(t.String()),
    occurred_at: nullable(timestamp),
    note: nullable(t.String()),
    error: nullable(t.String()),
    attempts: t.Integer(),
    received_at: timestamp,
    processed_at: nullable(timestamp),
  }
  export const summary = t.Object(fields)
  export const event = t.Object({ ...fields, payload: t.Any({ description: 'The verified event as received' }) })
  export const list = t.Object({ items: t.Array(summary), total: t.Integer(), skip: t.Integer(), limit: t.Integer() })
}

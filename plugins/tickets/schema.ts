/** TypeBox models of the tickets plugin (docs/plugins/tickets.md): bodies, queries and the objects it answers. */
import { pageQuery, t } from '../../core/index.ts'

export const STATUSES = ['open', 'pending', 'in_progress', 'resolved', 'closed'] as const
export const PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const
export const SOURCES = ['api', 'web', 'email', 'contact', 'mcp'] as const
export type Status = (typeof STATUSES)[number]
export type Priority = (typeof PRIORITIES)[number]
export type Source = (typeof SOURCES)[number]

const nullable = <T extends Parameters<typeof t.Union>[0][number]>(s: T) => t.Union([s, t.Null()])
const dateTime = t.String({ format: 'date-time' })
const listOf = <T extends Parameters<typeof t.Array>[0]>(item: T) =>
  t.Object({
    items: t.Array(item),
    total: t.Integer(),
    skip: t.Integer(),
    limit: t.Integer(),
    total_exact: t.Optional(t.Literal(false)),
    next_after: t.Optional(t.String()),
  })

const priority = t.Union([t.Literal('low'), t.Literal('normal'), t.Literal('high'), t.Literal('urgent')])
const patchStatus = t.Union([t.Literal('open'), t.Literal('pending'), t.Literal('in_progress'), t.Literal('resolved')])
const status = t.Union([
  t.Literal('open'),
  t.Literal('pending'),
  t.Literal('in_progress'),
  t.Literal('resolved'),
  t.Literal('closed'),
])
const source = t.Union([t.Literal('api'), t.Literal('web'), t.Literal('email'), t.Literal('contact'), t.Literal('mcp')])
const tags = t.Array(t.String({ minLength: 1, maxLength: 50 }), {
  maxItems: 20,
  description: 'At most 20 tags of 1-50 characters',
})
const customFields = t.Record(t.String({ maxLength: 100 }), t.Unknown(), {
  maxProperties: 50,
  description: 'At most 50 keys',
})
const shortText = (what: string) => t.String({ maxLength: 100, description: `${what} (at most 100 characters)` })
const ISO_DATE = '^\\d{4}-\\d{2}-\\d{2}([T ]\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,6})?)?(Z|[+-]\\d{2}:?\\d{2})?)?$'

export namespace TicketModel {
  export const sla = t.Object({
    policy: nullable(t.String()),
    first_response_due_at: nullable(dateTime),
    resolution_due_at: nullable(dateTime),
    first_response_breached: t.Boolean(),
    resolution_breached: t.Boolean(),
  })
  export const csat = t.Object(
    {
      url: nullable(
        t.String({
          description:
            'The public survey form (GET /api/v1/public/csat/{token}, under PUBLIC_URL); null when this server cannot rebuild the link (a token issued before migration 0002, or under another TICKETS_CSAT_SECRET)',
        }),
      ),
      // One flat union: a nested one reaches the document as a string enum without null.
      score: t.Union([t.Literal('good'), t.Literal('bad'), t.Null()]),
      comment: nullable(t.String()),
      answered_at: nullable(dateTime),
    },
    {
      description:
        'Satisfaction survey, for the requester and staff. Absent until the first close; a close issues a new survey, a reopen removes one not answered yet (docs/plugins/tickets.md#csat)',
    },
  )

  export const ticket = t.Object({
    id: t.String({ format: 'uuid' }),
    number: t.Integer(),
    title: t.String(),
    description: t.String(),
    status,
    priority,
    urgency: nullable(t.Integer()),
    category: nullable(t.String()),
    subcategory: nullable(t.String()),
    tags: t.Array(t.String()),
    requester_id: t.String(),
    assignee_id: nullable(t.String()),
    queue_id: nullable(t.String({ format: 'uuid' })),
    source,
    custom_fields: t.Record(t.String(), t.Unknown()),
    due_at: nullable(dateTime),
    scheduled_at: nullable(dateTime),
    first_response_at: nullable(dateTime),
    resolved_at: nullable(dateTime),
    closed_at: nullable(dateTime),
    sla,
    csat: t.Optional(csat),
    created_at: dateTime,
    updated_at: dateTime,
  })
  export type ticket = typeof ticket.static
  export const list = listOf(ticket)

  export const create = t.Object({
    title: t.String({ minLength: 1, maxLength: 200, description: '1-200 characters' }),
    description: t.String({ minLength: 1, maxLength: 20000, description: 'Markdown, 1-20000 characters' }),
    priority: t.Optional(priority),
    urgency: t.Optional(nullable(t.Integer({ minimum: 1, maximum: 4 }))),
    category: t.Optional(nullable(shortText('Category'))),
    subcategory: t.Optional(nullable(shortText('Subcategory'))),
    tags: t.Optional(tags),
    custom_fields: t.Optional(customFields),
    queue_id: t.Optional(nullable(t.String({ format: 'uuid', description: 'Staff only' }))),
    requester_id: t.Optional(
      t.String({ minLength: 1, maxLength: 255, description: 'Staff only: open the ticket on behalf of this user' }),
    ),
  })
  export type create = typeof create.static

  export const update = t.Object({
    title: t.Optional(t.String({ minLength: 1, maxLength: 200 })),
    description: t.Optional(t.String({ minLength: 1, maxLength: 20000 })),
    status: t.Optional(patchStatus),
    priority: t.Optional(priority),
    urgency: t.Optional(nullable(t.Integer({ minimum: 1, maximum: 4 }))),
    assignee_id: t.Optional(nullable(t.String({ minLength: 1, maxLength: 255 }))),
    queue_id: t.Optional(nullable(t.String({ format: 'uuid' }))),
    tags: t.Optional(tags),
    category: t.Optional(nullable(shortText('Category'))),
    subcategory: t.Optional(nullable(shortText('Subcategory'))),
    due_at: t.Optional(nullable(dateTime)),
    scheduled_at: t.Optional(nullable(dateTime)),
    custom_fields: t.Optional(customFields),
  })
  export type update = typeof update.static

  export const assign = t.Object({ assignee_id: nullable(t.String({ minLength: 1, maxLength: 255 })) })

  export const listQuery = t.Object({
    ...pageQuery,
    status: t.Optional(status),
    priority: t.Optional(priority),
    queue_id: t.Optional(t.String({ format: 'uuid' })),
    assignee_id: t.Optional(t.String({ minLength: 1, maxLength: 255, description: 'A user id, `me` or `none`' })),
    requester_id: t.Optional(t.String({ minLength: 1, maxLength: 255 })),
    tag: t.Optional(t.String({ minLength: 1, maxLength: 50 })),
    q: t.Optional(
      t.String({
        maxLength: 500,
        description: 'Full text over title, description and public comments (internal notes too for staff)',
      }),
    ),
    since: t.Optional(t.String({ pattern: ISO_DATE, description: 'created_at >= (a date or a date-time, inclusive)' })),
    until: t.Optional(
      t.String({
        pattern: ISO_DATE,
        description: 'created_at <= (a date or a date-time, inclusive; a date covers the whole day)',
      }),
    ),
    sort: t.Optional(
      t.Union(
        [
          t.Literal('created_at'),
          t.Literal('-created_at'),
          t.Literal('updated_at'),
          t.Literal('-updated_at'),
          t.Literal('priority'),
          t.Literal('-priority'),
          t.Literal('number'),
          t.Literal('-number'),
        ],
        { description: 'Default -created_at' },
      ),
    ),
  })
  export type listQuery = typeof listQuery.static

  export const params = t.Object({ id: t.String({ maxLength: 64, description: 'Ticket id (UUID) or number' }) })
}

export namespace CommentModel {
  export const comment = t.Object({
    id: t.String({ format: 'uuid' }),
    ticket_id: t.String({ format: 'uuid' }),
    author_id: t.String(),
    body_md: t.String(),
    is_internal: t.Boolean(),
    created_at: dateTime,
  })
  export type comment = typeof comment.static
  export const list = listOf(comment)
  export const create = t.Object({
    body_md: t.String({ minLength: 1, maxLength: 20000, description: 'Markdown, 1-20000 characters' }),
    is_internal: t.Optional(t.Boolean({ description: 'Internal note (staff only)' })),
  })
  export type create = typeof create.static
}

export namespace AttachmentModel {
  export const attachment = t.Object({
    id: t.String({ format: 'uuid' }),
    filename: t.String(),
    bytes: t.Integer(),
    mime: t.String(),
    created_at: dateTime,
  })
  export type attachment = typeof attachment.static
  export const list = listOf(attachment)
  export const presign = t.Object({
    filename: t.String({ minLength: 1, maxLength: 255 }),
    bytes: t.Integer({ minimum: 1, description: 'Exact size; over MAX_UPLOAD_BYTES is 413' }),
    mime: t.String({
      minLength: 3,
      maxLength: 255,
      pattern: '^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$',
    }),
  })
  export const presigned = t.Object({
    upload_url: t.String(),
    method: t.Literal('PUT'),
    headers: t.Record(t.String(), t.String()),
    attachment_id: t.String({ format: 'uuid' }),
    expires_in: t.Integer(),
  })
  export const confirm = t.Object({ attachment_id: t.String({ format: 'uuid' }) })
  export const confirmed = t.Object({ id: t.String({ format: 'uuid' }) })
  export const download = t.Object({ download_url: t.String(), expires_in: t.Integer() })
  export const params = t.Object({ id: t.String({ maxLength: 64 }), att_id: t.String({ maxLength: 64 }) })
}

export namespace WatcherModel {
  export const list = listOf(t.String())
  export const add = t.Object({ user_id: t.String({ minLength: 1, maxLength: 255 }) })
  export const added = t.Object({ ticket_id: t.String(), user_id: t.String(), created: t.Boolean() })
  export const params = t.Object({ id: t.String({ maxLength: 64 }), user_id: t.String({ maxLength: 255 }) })
}

export namespace QueueModel {
  export const queue = t.Object({
    id: t.String({ format: 'uuid' }),
    name: t.String(),
    description: nullable(t.String()),
    default_assignee_id: nullable(t.String()),
  })
  export type queue = typeof queue.static
  export const list = listOf(queue)
  export const create = t.Object({
    name: t.String({ minLength: 1, maxLength: 100 }),
    description: t.Optional(nullable(t.String({ maxLength: 2000 }))),
    default_assignee_id: t.Optional(nullable(t.String({ minLength: 1, maxLength: 255 }))),
  })
  export type create = typeof create.static
  export const update = t.Partial(create)
  export type update = typeof update.static
  export const stats = t.Object({
    open: t.Integer(),
    pending: t.Integer(),
    in_progress: t.Integer(),
    resolved_today: t.Integer(),
    avg_first_response_ms: nullable(t.Number()),
    sla_attainment: nullable(t.Number()),
  })
  export const params = t.Object({ queue_id: t.String({ maxLength: 64 }) })
}

export namespace SlaModel {
  export const policy = t.Object({
    priority,
    first_response_minutes: t.Integer(),
    resolution_minutes: t.Integer(),
  })
  export type policy = typeof policy.static
  export const list = listOf(policy)
  export const put = t.Object({
    first_response_minutes: t.Integer({ minimum: 1, maximum: 525600 }),
    resolution_minutes: t.Integer({ minimum: 1, maximum: 525600 }),
  })
  export const params = t.Object({ priority })
}

export namespace ActivityModel {
  export const entry = t.Object({
    id: t.String({ format: 'uuid' }),
    ticket_id: t.String({ format: 'uuid' }),
    actor_id: nullable(t.String()),
    action: t.String(),
    changes: t.Record(t.String(), t.Unknown()),
    created_at: dateTime,
  })
  export type entry = typeof entry.static
  export const list = listOf(entry)
}

export const pageOnly = t.Object({ ...pageQuery })

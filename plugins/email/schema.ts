/** TypeBox models of the email plugin's admin routes. */
import { pageQuery, t } from '../../core/index.ts'

export namespace EmailModel {
  export const outboxQuery = t.Object({
    ...pageQuery,
    tag: t.Optional(t.String({ maxLength: 100, description: 'e.g. contact.confirmation' })),
    to: t.Optional(t.String({ maxLength: 254, description: 'Only emails to this address' })),
  })

  export const outboxItem = t.Object({
    id: t.String({ format: 'uuid' }),
    to: t.Array(t.String()),
    from: t.String(),
    reply_to: t.Nullable(t.String()),
    subject: t.String(),
    text: t.String(),
    html: t.Nullable(t.String()),
    tag: t.Nullable(t.String()),
    transport: t.Union([t.Literal('smtp'), t.Literal('outbox')]),
    status: t.Union([t.Literal('sent'), t.Literal('stored')]),
    message_id: t.Nullable(t.String()),
    created_at: t.String({ format: 'date-time' }),
  })

  export const outboxPage = t.Object({
    items: t.Array(outboxItem),
    total: t.Integer(),
    skip: t.Integer(),
    limit: t.Integer(),
  })
}

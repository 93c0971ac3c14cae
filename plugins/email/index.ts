/** Email: one sender for every plugin (SMTP via nodemailer when SMTP_URL is set, else the outbox table and the log). */
import { definePlugin, env, page } from '../../core/index.ts'
import { EmailModel } from './schema.ts'
import { createEmailService, listOutbox, type EmailService } from './service.ts'

export type { EmailMessage, EmailResult, EmailService } from './service.ts'

declare module '../../core/index.ts' {
  interface PluginServices {
    email: EmailService
  }
}

const services = new WeakMap<object, EmailService>()

export default definePlugin({
  name: 'email',
  tag: { name: 'Email', description: 'Outgoing email: SMTP or the outbox' },
  config: {
    smtpUrl: env.url('SMTP_URL', {
      protocols: ['smtp', 'smtps'],
      description: 'smtp://user:pass@host:587 or smtps://...:465; unset = emails kept in the outbox table and logged',
    }),
    from: env.string('EMAIL_FROM', { description: 'From address; unset = OmniStack <no-reply@PUBLIC_URL host>' }),
    timeoutMs: env.int('SMTP_TIMEOUT_MS', { default: 10_000, min: 100, description: 'SMTP connect and greeting timeout' }),
  },
  migrations: new URL('./migrations/', import.meta.url),
  provides: (ctx) => {
    const host = new URL(ctx.core.publicUrl).hostname
    const service = createEmailService({
      sql: ctx.sql,
      logger: ctx.logger,
      meter: ctx.meter,
      smtpUrl: ctx.config.smtpUrl,
      from: ctx.config.from ?? `OmniStack <no-reply@${host}>`,
      timeoutMs: ctx.config.timeoutMs,
    })
    services.set(ctx, service)
    return service
  },
  admin: ({ router, sql }) =>
    router('/email').get(
      '/outbox',
      async ({ query }) => {
        const { items, total } = await listOutbox(sql, query)
        return page(items, total, query)
      },
      {
        scope: 'email:read',
        query: EmailModel.outboxQuery,
        detail: {
          summary: 'Emails sent or stored, newest first (without SMTP_URL this is where they wait)',
          // Documented, not enforced: a runtime response schema would clone away page()'s marker.
          responses: { 200: { description: 'A page of emails', content: { 'application/json': { schema: EmailModel.outboxPage as any } } } },
        },
      },
    ),
  start: (ctx) => {
    const s = services.get(ctx)
    const smtp = s?.transport === 'smtp'
    ctx.logger.info(smtp ? 'email: sending through SMTP' : 'email: SMTP_URL not set; emails go to the outbox table and the log')
  },
  stop: (ctx) => services.get(ctx)?.close(),
})

/** Email: one sender for every plugin (SMTP via nodemailer when SMTP_URL is set, else the outbox table and the log). */
import { definePlugin, env, page } from '../../core/index.ts'
import { emailDoctor } from './doctor.ts'
import { EmailModel } from './schema.ts'
import { createEmailService, listOutbox } from './service.ts'

export type { EmailMessage, EmailResult, EmailService } from './service.ts'

export default definePlugin({
  name: 'email',
  tag: { name: 'Email', description: 'Outgoing email: SMTP or the outbox' },
  config: {
    smtpUrl: env.url('SMTP_URL', {
      protocols: ['smtp', 'smtps'],
      description: 'smtp://user:pass@host:587 or smtps://...:465; unset = emails kept in the outbox table and logged',
    }),
    from: env.string('EMAIL_FROM', { description: 'From address; unset = OmniStack <no-reply@PUBLIC_URL host>' }),
    timeoutMs: env.int('SMTP_TIMEOUT_MS', {
      default: 10_000,
      min: 100,
      description: 'SMTP connect and greeting timeout',
    }),
  },
  doctor: emailDoctor,
  migrations: new URL('./migrations/', import.meta.url),
  setup: ({ sql, logger, meter, config, core }) => {
    const host = new URL(core.publicUrl).hostname
    const service = createEmailService({
      sql,
      logger,
      meter,
      smtpUrl: config.smtpUrl,
      from: config.from ?? `OmniStack <no-reply@${host}>`,
      timeoutMs: config.timeoutMs,
    })
    return {
      service,
      routes: {
        admin: ({ router }) =>
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
                responses: {
                  200: {
                    description: 'A page of emails',
                    content: { 'application/json': { schema: EmailModel.outboxPage as any } },
                  },
                },
              },
            },
          ),
      },
      start: () => {
        const smtp = service.transport === 'smtp'
        logger.info(
          smtp ? 'email: sending through SMTP' : 'email: SMTP_URL not set; emails go to the outbox table and the log',
        )
      },
      stop: () => service.close(),
    }
  },
})

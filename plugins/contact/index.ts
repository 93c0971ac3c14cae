/** Contact form: public submissions with spam defences, emails and a signed CRM webhook through jobs (docs/plugins/contact.md). */
import { definePlugin, env, parseRate } from '../../core/index.ts'
import email from '../email/index.ts'
import { deliverWebhook, sendContactEmail } from './deliveries.ts'
import { adminRoutes, publicRoutes } from './routes.ts'
import { FORM_FIELDS } from './schema.ts'
import { createContactService, type Submission } from './service.ts'
import { createFormTokens } from './spam.ts'

export type { Submission } from './service.ts'
export { signature as contactWebhookSignature } from './deliveries.ts'

/** What the `contact.submitted` event carries: the submission as the CRM webhook sees it. */
export type ContactSubmitted = Omit<
  Submission,
  'is_spam' | 'spam_reason' | 'ip_address' | 'user_agent' | 'created_at'
> & {
  submitted_at: string
}

declare module '../../core/index.ts' {
  interface EventMap {
    /** A genuine (not spam) submission was stored; the tickets plugin may open a ticket from it. */
    'contact.submitted': { submission: ContactSubmitted }
  }
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/
const parseEmails = (raw: string) => {
  const list = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  if (list.some((e) => !EMAIL.test(e))) throw new Error('bad email')
  return list
}
const parseField = (raw: string) => {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(raw) || FORM_FIELDS.includes(raw)) throw new Error('bad field')
  return raw
}

const config = {
  requireSubject: env.bool('CONTACT_REQUIRE_SUBJECT', { default: false, description: 'Make subject required' }),
  requirePhone: env.bool('CONTACT_REQUIRE_PHONE', { default: false, description: 'Make phone required' }),
  sendConfirmation: env.bool('CONTACT_SEND_CONFIRMATION', {
    default: true,
    description: 'Send a confirmation email to the sender',
  }),
  adminEmails: env.custom('ADMIN_EMAIL', 'an email address (or a comma-separated list)', parseEmails, {
    default: [],
    show: (v) => v.join(','),
    description: 'Where new submissions are notified; unset = no notification',
  }),
  webhookUrl: env.url('CONTACT_WEBHOOK_URL', {
    protocols: ['http', 'https'],
    description: 'CRM webhook; unset = none',
  }),
  webhookSecret: env.secret('CONTACT_WEBHOOK_SECRET', {
    minLength: 16,
    description: 'HMAC-SHA256 key of X-Webhook-Signature',
  }),
  webhookTimeoutMs: env.int('CONTACT_WEBHOOK_TIMEOUT_MS', {
    default: 10_000,
    min: 100,
    max: 120_000,
    description: 'CRM webhook timeout',
  }),
  rateLimit: env.custom('CONTACT_RATE_LIMIT', 'N/second|minute|hour|day', parseRate, {
    default: parseRate('5/hour'),
    show: (r) => r.text,
    description: 'Submissions per client IP',
  }),
  honeypotField: env.custom(
    'CONTACT_HONEYPOT_FIELD',
    'a field name ([A-Za-z_][A-Za-z0-9_]*) that is not a form field',
    parseField,
    {
      default: 'website',
      description: 'Hidden field that people leave empty; a filled one marks the submission as spam',
    },
  ),
  minFillSeconds: env.int('CONTACT_MIN_FILL_SECONDS', {
    default: 3,
    min: 0,
    max: 3600,
    description: 'Minimum time between form_token and submit; 0 = off',
  }),
  jobMaxAttempts: env.int('CONTACT_JOB_MAX_ATTEMPTS', {
    default: 8,
    min: 1,
    max: 50,
    description: 'Attempts per email or webhook before the job is dead',
  }),
  jobBackoffMs: env.int('CONTACT_JOB_BACKOFF_MS', {
    default: 30_000,
    min: 0,
    description: 'First retry delay; doubles each attempt (capped at 1 h)',
  }),
}

export default definePlugin({
  name: 'contact',
  dependsOn: { email },
  tag: { name: 'Contact', description: 'Contact form submissions' },
  config,
  migrations: new URL('./migrations/', import.meta.url),
  setup: (ctx) => {
    const { config: c, logger } = ctx
    const tokens = createFormTokens(ctx.sql)
    const counter = ctx.metrics.counter('contact_submissions_total', 'Contact form submissions', ['outcome'])
    const service = createContactService(
      {
        sql: ctx.sql,
        jobs: ctx.jobs,
        events: ctx.events,
        logger,
        tokens,
        count: (outcome) => counter.inc({ outcome }),
        settings: {
          sendConfirmation: c.sendConfirmation,
          adminEmails: c.adminEmails,
          webhookUrl: c.webhookUrl,
          minFillMs: c.minFillSeconds * 1000,
          honeypotField: c.honeypotField,
          jobMaxAttempts: c.jobMaxAttempts,
          jobBackoffMs: c.jobBackoffMs,
        },
      },
      { subject: c.requireSubject, phone: c.requirePhone },
    )
    return {
      rateLimits: {
        contact: {
          path: '/public/contact',
          methods: ['POST'],
          rule: c.rateLimit,
          perIp: true,
          message: 'Too many contact form submissions. Please try again later.',
        },
      },
      routes: {
        public: (r) => publicRoutes(r, c, { service, tokens }),
        admin: (r) => adminRoutes(r, { service }),
      },
      jobs: {
        'contact.send-email': (payload) =>
          sendContactEmail({ email: ctx.deps.email, adminEmails: c.adminEmails, load: service.load, logger }, payload),
        'contact.deliver-webhook': async (payload: { submission_id: string }, job) => {
          const { webhookUrl, webhookSecret, webhookTimeoutMs } = c
          const s = await service.load(payload.submission_id)
          if (!webhookUrl || !s) {
            const reason = s ? 'CONTACT_WEBHOOK_URL unset' : 'submission gone'
            logger.warn('contact webhook skipped', { submission_id: payload.submission_id, reason })
            return
          }
          const status = await deliverWebhook(
            s,
            { url: webhookUrl, secret: webhookSecret, timeoutMs: webhookTimeoutMs },
            job.attempt,
          )
          logger.info('contact webhook delivered', { reference_id: s.reference_id, status, attempt: job.attempt })
        },
      },
      start: () => {
        if (c.webhookUrl && !c.webhookSecret) {
          logger.warn('CONTACT_WEBHOOK_URL is set without CONTACT_WEBHOOK_SECRET: webhooks are sent unsigned')
        }
      },
    }
  },
})

/** TypeBox models of the contact form (docs/plugins/contact.md): request rules, responses, admin views. */
import { pageQuery, t } from '../../core/index.ts'

export interface FormRules {
  requireSubject: boolean
  requirePhone: boolean
  honeypotField: string
}

/** Fields the body may carry besides the honeypot (which must not reuse one of these names). */
export const FORM_FIELDS = [
  'name',
  'email',
  'message',
  'subject',
  'phone',
  'company',
  'extra_fields',
  'source',
  'form_token',
]

const optionalText = (maxLength: number, description: string) =>
  t.Optional(t.Nullable(t.String({ maxLength, description })))

const scalar = t.Union([t.String({ maxLength: 2000 }), t.Number(), t.Boolean(), t.Null()])

export namespace ContactModel {
  /** Built per configuration: CONTACT_REQUIRE_SUBJECT / _PHONE make those fields required. */
  export const submit = (rules: FormRules) =>
    t.Object({
      name: t.String({ minLength: 2, maxLength: 100, description: "Sender's name (2-100 chars)" }),
      email: t.String({ format: 'email', maxLength: 254, description: "Sender's email address" }),
      message: t.String({ minLength: 10, maxLength: 5000, description: 'Message content (10-5000 chars)' }),
      subject: rules.requireSubject
        ? t.String({ minLength: 1, maxLength: 200, description: 'Message subject (max 200 chars, required)' })
        : optionalText(200, 'Message subject (max 200 chars)'),
      phone: rules.requirePhone
        ? t.String({ minLength: 1, maxLength: 50, description: 'Phone number (max 50 chars, required)' })
        : optionalText(50, 'Phone number (max 50 chars)'),
      company: optionalText(200, 'Company name (max 200 chars)'),
      // An object schema, not t.Record: Elysia coerces a string into a Record of its characters.
      extra_fields: t.Optional(
        t.Object(
          {},
          {
            additionalProperties: scalar,
            maxProperties: 50,
            description: 'Custom fields: at most 50 keys (1-100 chars) with string, number, boolean or null values',
          },
        ),
      ),
      source: optionalText(100, 'Form source for analytics (max 100 chars)'),
      form_token: t.Optional(
        t.String({ maxLength: 100, description: 'Token from GET /contact/status: proves the minimum fill time' }),
      ),
      [rules.honeypotField]: t.Optional(
        t.Unknown({ description: 'Honeypot: keep it in a hidden input that people leave empty' }),
      ),
    })

  export const submitted = t.Object({
    success: t.Boolean(),
    message: t.String(),
    reference_id: t.String({ pattern: '^CNT-[A-Z0-9]{8}$', examples: ['CNT-A1B2C3D4'] }),
  })

  export const status = t.Object({
    available: t.Boolean({ description: 'False while the caller has no submissions left in the window' }),
    rate_limit: t.Object({
      limit: t.Integer(),
      remaining: t.Integer(),
      reset: t.Integer({ description: 'Unix time when the window resets' }),
      window: t.String({ examples: ['5/hour'] }),
    }),
    config: t.Object({
      require_subject: t.Boolean(),
      require_phone: t.Boolean(),
      sends_confirmation: t.Boolean(),
    }),
    form_token: t.String({
      description: 'Send back as form_token: submissions faster than CONTACT_MIN_FILL_SECONDS are spam',
    }),
  })

  export const listQuery = t.Object({
    ...pageQuery,
    spam: t.Optional(t.Boolean({ description: 'Only spam (true) or only genuine (false) submissions' })),
    q: t.Optional(
      t.String({ minLength: 1, maxLength: 200, description: 'Search in name, email, subject and reference id' }),
    ),
  })

  export const submission = t.Object({
    id: t.String({ format: 'uuid' }),
    reference_id: t.String(),
    name: t.String(),
    email: t.String(),
    subject: t.Nullable(t.String()),
    phone: t.Nullable(t.String()),
    company: t.Nullable(t.String()),
    message: t.String(),
    extra_fields: t.Record(t.String(), t.Unknown()),
    source: t.Nullable(t.String()),
    is_spam: t.Boolean(),
    spam_reason: t.Nullable(t.String()),
    ip_address: t.Nullable(t.String()),
    user_agent: t.Nullable(t.String()),
    created_at: t.String({ format: 'date-time' }),
  })

  export const delivery = t.Object({
    job_id: t.String(),
    name: t.String({ examples: ['contact.deliver-webhook'] }),
    state: t.String({ examples: ['completed'] }),
    attempts: t.Integer(),
    max_attempts: t.Integer(),
    last_error: t.Nullable(t.String()),
    run_at: t.Nullable(t.String({ format: 'date-time' })),
  })

  export const submissionDetail = t.Composite([submission, t.Object({ deliveries: t.Array(delivery) })])

  export const submissionPage = t.Object({
    items: t.Array(submission),
    total: t.Integer(),
    skip: t.Integer(),
    limit: t.Integer(),
  })

  export const idParams = t.Object({ id: t.String({ maxLength: 64, description: 'Submission id or reference id' }) })
}

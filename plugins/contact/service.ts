/** Contact submissions: checks, storage with a unique reference id, jobs in the same transaction, admin reads. */
import type { TransactionSql } from 'postgres'
import {
  isUuid,
  notFound,
  paged,
  validation,
  type EventBus,
  type JobQueue,
  type Logger,
  type Sql,
} from '../../core/index.ts'
import { newReferenceId } from './reference.ts'
import { judge, type FormTokens } from './spam.ts'

export interface ContactSettings {
  sendConfirmation: boolean
  adminEmails: string[]
  webhookUrl?: string
  minFillMs: number
  honeypotField: string
  jobMaxAttempts: number
  jobBackoffMs: number
}

export interface SubmissionInput {
  name: string
  email: string
  message: string
  subject?: string | null
  phone?: string | null
  company?: string | null
  extra_fields?: Record<string, string | number | boolean | null> | null
  source?: string | null
  form_token?: string
  [honeypot: string]: unknown
}

export interface Submission {
  id: string
  reference_id: string
  name: string
  email: string
  subject: string | null
  phone: string | null
  company: string | null
  message: string
  extra_fields: Record<string, unknown>
  source: string | null
  is_spam: boolean
  spam_reason: string | null
  ip_address: string | null
  user_agent: string | null
  created_at: string
}

export interface ContactDeps {
  sql: Sql
  jobs: JobQueue
  events: EventBus
  logger: Logger
  tokens: FormTokens
  settings: ContactSettings
  /** Counts accepted and spam submissions (Prometheus). */
  count?: (outcome: 'accepted' | 'spam') => void
  /** Reference id source (tests force a collision). */
  newReference?: () => string
}

export const THANK_YOU = "Thank you for your message. We'll get back to you soon!"
const COLUMNS = `id, reference_id, name, email, subject, phone, company, message, extra_fields, source, is_spam,
  spam_reason, ip_address, user_agent, created_at`

const text = (v: string | null | undefined) => {
  const s = v?.trim()
  return s ? s : null
}

/** What the schema cannot say: lengths after trimming and extra_fields key names. */
function normalise(input: SubmissionInput, required: { subject: boolean; phone: boolean }) {
  const name = input.name.trim()
  if (name.length < 2) throw validation('name', 'Name must be at least 2 characters')
  const message = input.message.trim()
  if (message.length < 10) throw validation('message', 'Message must be at least 10 characters')
  const subject = text(input.subject)
  if (required.subject && !subject) throw validation('subject', 'Subject is required')
  const phone = text(input.phone)
  if (required.phone && !phone) throw validation('phone', 'Phone is required')
  const extra = input.extra_fields ?? {}
  for (const key of Object.keys(extra)) {
    if (key.length < 1 || key.length > 100)
      throw validation('extra_fields', 'extra_fields keys must be 1-100 characters')
  }
  return {
    name,
    email: input.email.trim(),
    message,
    subject,
    phone,
    company: text(input.company),
    source: text(input.source),
    extra_fields: extra,
  }
}

export function createContactService(d: ContactDeps, required: { subject: boolean; phone: boolean }) {
  const { sql, settings } = d
  const newReference = d.newReference ?? newReferenceId

  return {
    async submit(input: SubmissionInput, meta: { ip: string; userAgent: string | null }) {
      const fields = normalise(input, required)
      const honeypot = input[settings.honeypotField]
      const verdict = await judge(
        { honeypot: honeypot == null ? null : String(honeypot), formToken: input.form_token },
        d.tokens,
        settings.minFillMs,
      )
      let row: { id: string; reference_id: string; created_at: Date } | undefined
      // A reference collision (1 in 36^8 per pair) only costs another try.
      for (let attempt = 0; !row; attempt++) {
        try {
          row = await sql.begin(async (tx) => {
            const [r] = await tx<{ id: string; reference_id: string; created_at: Date }[]>`
              insert into contact_submissions (reference_id, name, email, subject, phone, company, message,
                extra_fields, source, is_spam, spam_reason, ip_address, user_agent)
              values (${newReference()}, ${fields.name}, ${fields.email}, ${fields.subject}, ${fields.phone},
                ${fields.company}, ${fields.message}, ${tx.json(fields.extra_fields as never)}, ${fields.source},
                ${verdict.spam}, ${verdict.reason}, ${meta.ip}, ${meta.userAgent?.slice(0, 500) ?? null})
              returning id, reference_id, created_at`
            // A flagged submission is stored for review and triggers nothing.
            if (!verdict.spam) {
              const ids = await enqueueDeliveries(tx, r!.id)
              if (ids.length) await tx`update contact_submissions set job_ids = ${tx.json(ids)} where id = ${r!.id}`
            }
            return r!
          })
        } catch (err) {
          const e = err as { code?: string; constraint_name?: string }
          if (e.code !== '23505' || !String(e.constraint_name ?? '').includes('reference') || attempt >= 4) throw err
        }
      }
      d.count?.(verdict.spam ? 'spam' : 'accepted')
      if (verdict.spam) {
        d.logger.info('contact submission flagged as spam', { reference_id: row.reference_id, reason: verdict.reason })
      } else {
        await d.events.publish('contact.submitted', {
          submission: {
            id: row.id,
            reference_id: row.reference_id,
            ...fields,
            submitted_at: row.created_at.toISOString(),
          },
        })
      }
      return { success: true, message: THANK_YOU, reference_id: row.reference_id }
    },

    async list(q: { skip: number; limit: number; after?: string; spam?: boolean; q?: string }) {
      const like = q.q ? `%${q.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : undefined
      const where = sql`true
        ${q.spam === undefined ? sql`` : sql`and is_spam = ${q.spam}`}
        ${like ? sql`and (name ilike ${like} or email ilike ${like} or subject ilike ${like} or reference_id ilike ${like})` : sql``}`
      // Served by contact_submissions_created_idx / contact_submissions_spam_created_idx.
      const result = await paged<Record<string, unknown>>(
        sql,
        { table: 'contact_submissions', columns: sql.unsafe(COLUMNS), where },
        q,
      )
      return { ...result, items: result.items.map(toSubmission) }
    },

    /** By id or reference id, with the state of its email and webhook jobs. */
    async get(idOrReference: string) {
      const [row] = isUuid(idOrReference)
        ? await sql<
            Record<string, unknown>[]
          >`select ${sql.unsafe(COLUMNS)}, job_ids from contact_submissions where id = ${idOrReference}`
        : await sql<Record<string, unknown>[]>`select ${sql.unsafe(COLUMNS)}, job_ids from contact_submissions
            where reference_id = ${idOrReference.toUpperCase()}`
      if (!row) throw notFound('Submission', idOrReference)
      const deliveries = []
      for (const id of (row.job_ids as string[]) ?? []) {
        const job = await d.jobs.get(id)
        if (!job) continue
        deliveries.push({
          job_id: job.id,
          name: job.name,
          state: job.state,
          attempts: job.attempts,
          max_attempts: job.max_attempts,
          last_error: job.last_error,
          run_at: job.run_at ? new Date(job.run_at).toISOString() : null,
        })
      }
      return { ...toSubmission(row), deliveries }
    },

    /** Loads a submission for a job (undefined when it was removed since). */
    async load(id: string): Promise<Submission | undefined> {
      const [row] = await sql<
        Record<string, unknown>[]
      >`select ${sql.unsafe(COLUMNS)} from contact_submissions where id = ${id}`
      return row ? toSubmission(row) : undefined
    },
  }

  async function enqueueDeliveries(tx: TransactionSql<{}>, id: string) {
    const opts = { tx, maxAttempts: settings.jobMaxAttempts, backoffMs: settings.jobBackoffMs }
    const ids: string[] = []
    const add = async (name: string, payload: Record<string, unknown>, key: string) =>
      ids.push((await d.jobs.enqueue(name, payload, { ...opts, uniqueKey: `${id}:${key}` })).id)
    if (settings.sendConfirmation)
      await add('contact.send-email', { submission_id: id, kind: 'confirmation' }, 'confirmation')
    if (settings.adminEmails.length)
      await add('contact.send-email', { submission_id: id, kind: 'notification' }, 'notification')
    if (settings.webhookUrl) await add('contact.deliver-webhook', { submission_id: id }, 'webhook')
    return ids
  }
}

export type ContactService = ReturnType<typeof createContactService>

function toSubmission(r: Record<string, unknown>): Submission {
  return {
    id: r.id as string,
    reference_id: r.reference_id as string,
    name: r.name as string,
    email: r.email as string,
    subject: (r.subject as string | null) ?? null,
    phone: (r.phone as string | null) ?? null,
    company: (r.company as string | null) ?? null,
    message: r.message as string,
    extra_fields: (r.extra_fields as Record<string, unknown>) ?? {},
    source: (r.source as string | null) ?? null,
    is_spam: r.is_spam as boolean,
    spam_reason: (r.spam_reason as string | null) ?? null,
    ip_address: (r.ip_address as string | null) ?? null,
    user_agent: (r.user_agent as string | null) ?? null,
    created_at: new Date(r.created_at as string).toISOString(),
  }
}

/**
 * From the contact plugin (docs/plugins/tickets.md#from-the-contact-plugin): with
 * TICKETS_FROM_CONTACT=true, each `contact.submitted` event opens a ticket (`source: contact`) whose
 * requester is the user with the sender's email, provisioned through the users plugin when there is
 * none. Only the event bus joins the two plugins: neither imports the other.
 *
 * The event handler only queues the job `tickets.from-contact` (retried with backoff, one per
 * submission); the job skips a submission that already has its ticket, so a retry after a crash
 * never opens a second one.
 */
import type { JobQueue, Logger, Principal, Sql, User } from '../../core/index.ts'
import type { UsersService } from '../users/index.ts'
import type { Ticket, TicketsService } from './service.ts'

export const CONTACT_JOB = 'tickets.from-contact'

/** The fields of the contact plugin's `contact.submitted` payload that a ticket uses (declared there, not imported). */
export interface ContactSubmission {
  id: string
  reference_id: string
  name: string
  email: string
  subject?: string | null
  phone?: string | null
  company?: string | null
  message: string
}

export interface ContactJob {
  submission: ContactSubmission
}

const TITLE_MAX = 200
const DESCRIPTION_MAX = 20_000

const clip = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1)}…` : s)

/** The subject, else the message's first line. */
export function contactTitle(s: ContactSubmission): string {
  const subject = s.subject?.trim()
  if (subject) return clip(subject, TITLE_MAX)
  const line = s.message.trim().split(/\r?\n/, 1)[0]!.trim()
  return clip(line || `Contact form message from ${s.name}`, TITLE_MAX)
}

function contactDescription(s: ContactSubmission): string {
  const from = [`${s.name} <${s.email}>`, s.company, s.phone].filter(Boolean).join(', ')
  const footer = `\n\n---\nSent through the contact form by ${from} (${s.reference_id}).`
  return clip(s.message.trim(), DESCRIPTION_MAX - footer.length) + footer
}

export function createContactIntake(d: {
  sql: Sql
  jobs: JobQueue
  tickets: TicketsService
  users: UsersService
  logger: Logger
}) {
  const { sql } = d

  /** The oldest active user with this email (users_email_idx), else a new one provisioned as a first sign-in would. */
  const requesterFor = async (s: ContactSubmission): Promise<User> => {
    const email = s.email.trim()
    const [found] = await sql<User[]>`select * from users where lower(email) = ${email.toLowerCase()}
      order by is_active desc, created_at, id limit 1`
    if (found) return found
    return d.users.provision({ sub: `contact:${email.toLowerCase()}`, email, name: s.name })
  }

  return {
    /** The `contact.submitted` handler. */
    async submitted(e: unknown): Promise<void> {
      const submission = (e as { submission?: ContactSubmission }).submission
      if (!submission?.id || !submission.email) {
        d.logger.warn('tickets: contact.submitted without a submission id or email; no ticket')
        return
      }
      await d.jobs.enqueue(CONTACT_JOB, { submission } satisfies ContactJob, {
        uniqueKey: submission.id,
        maxAttempts: 8,
      })
    },

    /** The job: opens the ticket unless this submission already has one. */
    async open({ submission: s }: ContactJob): Promise<Ticket | undefined> {
      // tickets_contact_submission_idx (0005_contact_intake.sql).
      const [done] = await sql`select id from tickets
        where source = 'contact' and custom_fields->>'contact_submission_id' = ${s.id}`
      if (done) return undefined
      const user = await requesterFor(s)
      const principal: Principal = { user, kind: 'jwt', scopes: 'all' }
      const ticket = await d.tickets.create(
        principal,
        {
          title: contactTitle(s),
          description: contactDescription(s),
          tags: ['contact'],
          custom_fields: { contact_submission_id: s.id, contact_reference_id: s.reference_id },
        },
        'contact',
      )
      d.logger.info('tickets: ticket opened from a contact submission', {
        ticket_id: ticket.id,
        reference_id: s.reference_id,
      })
      return ticket
    },
  }
}

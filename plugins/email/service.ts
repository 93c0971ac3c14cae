/** Email delivery: SMTP through nodemailer when SMTP_URL is set, else the outbox table and the log. */
import { createTransport } from 'nodemailer'
import { clientSpan, paged, type Logger, type MeterFn, type Sql } from '../../core/index.ts'

export interface EmailMessage {
  to: string | string[]
  subject: string
  text: string
  html?: string
  replyTo?: string
  /** What sent it, e.g. `contact.confirmation`: shown in the outbox, filterable by admins, the `template` of `email_sent`. */
  tag?: string
  /** A send with a key already sent is skipped (jobs run at least once). */
  dedupeKey?: string
  /** Metered as `email_sent` for this user when given. */
  userId?: string
}

export interface EmailResult {
  id: string
  transport: 'smtp' | 'outbox'
  /** The SMTP Message-ID (SMTP only). */
  messageId: string | null
  /** True when the dedupe key had been sent before and nothing was sent now. */
  duplicate: boolean
}

export interface EmailService {
  /** Sends (or stores) one email; throws when the SMTP server refuses it, so a job retries. */
  send(message: EmailMessage): Promise<EmailResult>
  readonly transport: 'smtp' | 'outbox'
  readonly from: string
  close(): void
}

export interface EmailServiceOptions {
  sql: Sql
  logger: Logger
  meter: MeterFn
  smtpUrl?: string
  from: string
  /** Connection, greeting and socket timeouts for SMTP. @default 10000 */
  timeoutMs?: number
}

export interface OutboxRow {
  id: string
  to: string[]
  from: string
  reply_to: string | null
  subject: string
  text: string
  html: string | null
  tag: string | null
  transport: 'smtp' | 'outbox'
  status: 'sent' | 'stored'
  message_id: string | null
  created_at: string
}

/** Header values never carry line breaks (header injection through a name or a subject). */
const oneLine = (s: string) => s.replace(/[\r\n]+/g, ' ').trim()

export function createEmailService(o: EmailServiceOptions): EmailService {
  const timeout = o.timeoutMs ?? 10_000
  // The URL's own query parameters (pool, secure, tls...) win over these defaults.
  const smtp = o.smtpUrl
    ? createTransport({
        url: o.smtpUrl,
        connectionTimeout: timeout,
        greetingTimeout: timeout,
        socketTimeout: 3 * timeout,
      })
    : undefined
  const transport = smtp ? 'smtp' : 'outbox'
  const spanAttributes = o.smtpUrl ? smtpSpanAttributes(o.smtpUrl) : {}

  return {
    transport,
    from: o.from,
    async send(m) {
      const to = (Array.isArray(m.to) ? m.to : [m.to]).map(oneLine).filter(Boolean)
      if (!to.length) throw new Error('email: no recipient')
      const subject = oneLine(m.subject)
      if (m.dedupeKey) {
        const [seen] = await o.sql<{ id: string; transport: 'smtp' | 'outbox'; message_id: string | null }[]>`
          select id, transport, message_id from email_outbox where dedupe_key = ${m.dedupeKey}`
        if (seen) return { id: seen.id, transport: seen.transport, messageId: seen.message_id, duplicate: true }
      }
      let messageId: string | null = null
      if (smtp) {
        // A span during a traced request: the server only, never recipients or content (docs/observability.md#child-spans).
        const info = await clientSpan('SMTP send', spanAttributes, () =>
          smtp.sendMail({
            from: o.from,
            to,
            replyTo: m.replyTo ? oneLine(m.replyTo) : undefined,
            subject,
            text: m.text,
            html: m.html,
          }),
        )
        messageId = info.messageId ?? null
      }
      const [row] = await o.sql<{ id: string }[]>`
        insert into email_outbox (dedupe_key, to_addresses, from_address, reply_to, subject, text_body, html_body,
          tag, user_id, transport, status, message_id)
        values (${m.dedupeKey ?? null}, ${o.sql.json(to)}, ${o.from}, ${m.replyTo ?? null}, ${subject}, ${m.text},
          ${m.html ?? null}, ${m.tag ?? null}, ${m.userId ?? null}, ${transport}, ${smtp ? 'sent' : 'stored'}, ${messageId})
        on conflict (dedupe_key) do nothing
        returning id`
      if (smtp) o.logger.info('email sent', { to, subject, tag: m.tag, message_id: messageId })
      // Without SMTP the log is where a developer reads the email (docs/plugins/email.md#configuring-smtp).
      else o.logger.info('email stored in the outbox (SMTP_URL is not set)', { to, subject, tag: m.tag, text: m.text })
      // The usage plugin breaks email_sent down by `template`: the tag says which email it was.
      if (m.userId) o.meter(m.userId, 'email_sent', 1, { template: m.tag ?? 'other' })
      return { id: row?.id ?? '', transport, messageId, duplicate: false }
    },
    close() {
      smtp?.close()
    },
  }
}

/** The SMTP server of a span: host and port of SMTP_URL (never its user or password). */
function smtpSpanAttributes(url: string): Record<string, string | number> {
  const u = new URL(url)
  const port = Number(u.port) || (u.protocol === 'smtps:' ? 465 : 587)
  return { 'server.address': u.hostname, 'server.port': port, 'network.protocol.name': 'smtp' }
}

const OUTBOX_COLUMNS =
  'id, to_addresses, from_address, reply_to, subject, text_body, html_body, tag, transport, status, message_id, created_at'

/** Admin view of the outbox, newest first (docs/pagination.md). */
export async function listOutbox(
  sql: Sql,
  q: { skip: number; limit: number; after?: string; tag?: string; to?: string },
) {
  const where = sql`true
    ${q.tag ? sql`and tag = ${q.tag}` : sql``}
    ${q.to ? sql`and exists (select 1 from jsonb_array_elements_text(to_addresses) a where lower(a) = ${q.to.toLowerCase()})` : sql``}`
  // Served by email_outbox_created_idx and email_outbox_tag_created_idx (migration 0002).
  const result = await paged<Record<string, unknown>>(
    sql,
    { table: 'email_outbox', columns: sql.unsafe(OUTBOX_COLUMNS), where },
    q,
  )
  return { ...result, items: result.items.map(toOutboxRow) }
}

function toOutboxRow(r: Record<string, unknown>): OutboxRow {
  return {
    id: r.id as string,
    to: r.to_addresses as string[],
    from: r.from_address as string,
    reply_to: (r.reply_to as string | null) ?? null,
    subject: r.subject as string,
    text: r.text_body as string,
    html: (r.html_body as string | null) ?? null,
    tag: (r.tag as string | null) ?? null,
    transport: r.transport as OutboxRow['transport'],
    status: r.status as OutboxRow['status'],
    message_id: (r.message_id as string | null) ?? null,
    created_at: new Date(r.created_at as string).toISOString(),
  }
}

/**
 * The contact plugin's jobs: `contact.send-email` (confirmation to the sender, notification to
 * ADMIN_EMAIL) and `contact.deliver-webhook` (docs/plugins/contact.md#crm-webhook, signed with
 * HMAC-SHA256). A handler that throws is retried with exponential backoff, then goes dead.
 */
import { createHmac } from 'node:crypto'
import { tracedFetch, type Logger } from '../../core/index.ts'
import type { EmailService } from '../email/index.ts'
import type { Submission } from './service.ts'

export interface WebhookTarget {
  url: string
  secret?: string
  timeoutMs: number
}

/** The body the CRM receives; `timestamp` is the delivery time, `submitted_at` the submission's. */
export function webhookBody(s: Submission, now = new Date()) {
  return {
    event: 'contact.submitted',
    timestamp: now.toISOString(),
    data: {
      reference_id: s.reference_id,
      name: s.name,
      email: s.email,
      phone: s.phone,
      company: s.company,
      subject: s.subject,
      message: s.message,
      extra_fields: s.extra_fields,
      source: s.source,
      submitted_at: s.created_at,
    },
  }
}

/** `sha256=<hex HMAC-SHA256 of the raw body>` (what the receiver recomputes). */
export const signature = (secret: string, rawBody: string) =>
  `sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`

export async function deliverWebhook(s: Submission, target: WebhookTarget, attempt: number): Promise<number> {
  const raw = JSON.stringify(webhookBody(s))
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'OmniStack-Webhooks/1.0',
    'x-reference-id': s.reference_id,
    'x-webhook-event': 'contact.submitted',
    'x-webhook-attempt': String(attempt),
  }
  if (target.secret) headers['x-webhook-signature'] = signature(target.secret, raw)
  let res: Response
  try {
    res = await tracedFetch(target.url, {
      method: 'POST',
      headers,
      body: raw,
      // A redirect is a misconfiguration, not a delivery (and would drop the body on 303).
      redirect: 'manual',
      signal: AbortSignal.timeout(target.timeoutMs),
    })
  } catch (err) {
    const e = err as Error
    if (e.name === 'TimeoutError' || e.name === 'AbortError') {
      throw new Error(`CRM webhook did not answer within ${target.timeoutMs} ms`)
    }
    throw new Error(`CRM webhook unreachable: ${e.message}`)
  }
  const snippet = (await res.text().catch(() => '')).slice(0, 200)
  if (res.status < 200 || res.status >= 300) {
    throw new Error(`CRM webhook answered ${res.status}${snippet ? `: ${snippet}` : ''}`)
  }
  return res.status
}

const quote = (text: string) =>
  text
    .split('\n')
    .map((l) => `> ${l}`)
    .join('\n')

export function confirmationEmail(s: Submission) {
  return {
    to: s.email,
    subject: `We received your message (${s.reference_id})`,
    text: [
      `Hi ${s.name},`,
      '',
      "Thank you for your message. We'll get back to you soon!",
      '',
      `Your reference: ${s.reference_id}`,
      '',
      'Your message:',
      quote(s.message),
    ].join('\n'),
  }
}

export function notificationEmail(s: Submission, to: string[]) {
  const extra = Object.entries(s.extra_fields)
  const lines = [
    `New contact form submission ${s.reference_id}`,
    '',
    `Name: ${s.name}`,
    `Email: ${s.email}`,
    s.phone ? `Phone: ${s.phone}` : undefined,
    s.company ? `Company: ${s.company}` : undefined,
    s.subject ? `Subject: ${s.subject}` : undefined,
    s.source ? `Source: ${s.source}` : undefined,
    `Submitted at: ${s.created_at}`,
    '',
    s.message,
    extra.length ? `\nExtra fields:\n${extra.map(([k, v]) => `  ${k}: ${String(v)}`).join('\n')}` : undefined,
  ]
  return {
    to,
    // Replying to the notification answers the sender.
    replyTo: s.email,
    subject: `Contact form: ${s.subject ?? s.message.slice(0, 60)} (${s.reference_id})`,
    text: lines.filter((l) => l !== undefined).join('\n'),
  }
}

export interface EmailJobDeps {
  email: EmailService
  adminEmails: string[]
  load: (id: string) => Promise<Submission | undefined>
  logger: Logger
}

export async function sendContactEmail(
  d: EmailJobDeps,
  payload: { submission_id: string; kind: 'confirmation' | 'notification' },
) {
  const s = await d.load(payload.submission_id)
  if (!s) {
    d.logger.warn('contact email skipped: submission no longer exists', { submission_id: payload.submission_id })
    return
  }
  const dedupeKey = `contact:${s.id}:${payload.kind}`
  if (payload.kind === 'confirmation') {
    await d.email.send({ ...confirmationEmail(s), tag: 'contact.confirmation', dedupeKey })
  } else {
    // ADMIN_EMAIL may have been removed since the job was queued: nothing to send then.
    if (!d.adminEmails.length) return
    await d.email.send({ ...notificationEmail(s, d.adminEmails), tag: 'contact.notification', dedupeKey })
  }
}

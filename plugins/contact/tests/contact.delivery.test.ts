import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { createHmac, timingSafeEqual } from 'node:crypto'
import { testApp, type TestApp } from '../../../core/testing/index.ts'
import email from '../../email/index.ts'
import { startSmtpSink, type SmtpSink } from '../../email/tests/smtp-sink.ts'
import contact from '../index.ts'

const SECRET = 'crm-shared-secret-0123456789abcdef'
const admin = { sub: 'contact-admin', email: 'contact-admin@example.com' }

interface Delivery {
  raw: string
  body: any
  headers: Headers
  validSignature: boolean
}

/** The CRM side: a loopback server that checks the signature the way the docs tell receivers to. */
function startReceiver() {
  const deliveries: Delivery[] = []
  /** Per reference id: how many times to fail with 500 first (-1 = always 503), or a delay in ms. */
  const plan = new Map<string, { fail?: number; delayMs?: number }>()
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(req) {
      const raw = await req.text()
      const expected = `sha256=${createHmac('sha256', SECRET).update(raw).digest('hex')}`
      const given = req.headers.get('x-webhook-signature') ?? ''
      const validSignature =
        given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected))
      deliveries.push({ raw, body: JSON.parse(raw), headers: req.headers, validSignature })
      if (!validSignature) return new Response('bad signature', { status: 401 })
      const p = plan.get(req.headers.get('x-reference-id') ?? '') ?? {}
      if (p.delayMs) await Bun.sleep(p.delayMs)
      if (p.fail === -1) return new Response('{"error":"maintenance"}', { status: 503 })
      if (p.fail && p.fail > 0) {
        p.fail--
        return new Response('temporarily broken', { status: 500 })
      }
      return Response.json({ received: true })
    },
  })
  return { url: `http://127.0.0.1:${server.port}/hooks/contact`, deliveries, plan, stop: () => server.stop(true) }
}

describe('contact deliveries', () => {
  let t: TestApp
  let sink: SmtpSink
  let crm: ReturnType<typeof startReceiver>

  beforeAll(async () => {
    sink = await startSmtpSink()
    crm = startReceiver()
    t = await testApp({
      plugins: [email, contact],
      env: {
        SUPERADMIN_EMAILS: admin.email,
        // The admin polls job states below, faster than the default 60 requests a minute.
        RATE_LIMIT_DEFAULT: '100000/minute',
        CONTACT_RATE_LIMIT: '1000/hour',
        SMTP_URL: sink.url,
        EMAIL_FROM: 'Acme Support <support@acme.test>',
        ADMIN_EMAIL: 'ops@acme.test,sales@acme.test',
        CONTACT_WEBHOOK_URL: crm.url,
        CONTACT_WEBHOOK_SECRET: SECRET,
        CONTACT_WEBHOOK_TIMEOUT_MS: '300',
        CONTACT_JOB_MAX_ATTEMPTS: '4',
        CONTACT_JOB_BACKOFF_MS: '400',
      },
    })
  })
  afterAll(async () => {
    await t?.close()
    await sink?.close()
    crm?.stop()
  })

  const submit = async (extra: Record<string, unknown> = {}) => {
    const res = await t.post('/api/v1/public/contact', {
      name: 'John Doe',
      email: 'john@example.com',
      message: "I'd like to learn more about your services.",
      subject: 'Product Inquiry',
      phone: '+1-555-0123',
      company: 'Acme Inc',
      extra_fields: { budget: '$5000-$10000' },
      source: 'homepage',
      ...extra,
    })
    expect(res.status).toBe(200)
    return res.body.reference_id as string
  }
  const detail = async (ref: string) => (await t.as(admin).get(`/api/v1/admin/contact/submissions/${ref}`)).body
  const webhookJob = async (ref: string) =>
    (await detail(ref)).deliveries.find((d: { name: string }) => d.name === 'contact.deliver-webhook')
  /** Runs due jobs (the worker is off in tests) until `done` holds. */
  const drain = async (done: () => Promise<boolean>, timeoutMs = 8000) => {
    const until = Date.now() + timeoutMs
    while (Date.now() < until) {
      await t.app.jobs.runDue()
      if (await done()) return
      await Bun.sleep(40)
    }
    throw new Error('jobs did not settle in time')
  }

  it('emails the sender and the admins through a real SMTP server', async () => {
    const ref = await submit({ email: 'jane@example.com', name: 'Jane Roe' })
    await drain(async () => sink.mails.filter((m) => m.text.includes(ref)).length >= 2)
    const mails = sink.mails.filter((m) => m.text.includes(ref))
    const confirmation = mails.find((m) => m.to.includes('jane@example.com'))!
    expect(confirmation.to).toEqual(['jane@example.com'])
    expect(confirmation.from).toBe('support@acme.test')
    expect(confirmation.headers.subject).toBe(`We received your message (${ref})`)
    expect(confirmation.text).toContain('Hi Jane Roe')
    const notification = mails.find((m) => m.to.includes('ops@acme.test'))!
    expect(notification.to).toEqual(['ops@acme.test', 'sales@acme.test'])
    expect(notification.headers['reply-to']).toBe('jane@example.com')
    expect(notification.text).toContain("I'd like to learn more about your services.")
    expect(notification.text).toContain('budget: $5000-$10000')
  })

  it('retries an email the SMTP server refused, and sends it once', async () => {
    sink.failNext(1)
    const ref = await submit({ email: 'retry@example.com' })
    await drain(async () => sink.mails.some((m) => m.to.includes('retry@example.com')))
    await drain(async () => (await detail(ref)).deliveries.every((d: { state: string }) => d.state === 'completed'))
    const row = await detail(ref)
    const attempts = row.deliveries
      .filter((d: { name: string }) => d.name === 'contact.send-email')
      .map((d: { attempts: number }) => d.attempts)
    expect(attempts.sort()).toEqual([1, 2])
    expect(sink.mails.filter((m) => m.to.includes('retry@example.com')).length).toBe(1)
  })

  it('posts the seed payload with a signature the receiver recomputes', async () => {
    const ref = await submit()
    await drain(async () => (await webhookJob(ref))?.state === 'completed')
    const d = crm.deliveries.find((x) => x.headers.get('x-reference-id') === ref)!
    expect(d.validSignature).toBe(true)
    expect(d.headers.get('x-webhook-signature')).toBe(
      `sha256=${createHmac('sha256', SECRET).update(d.raw).digest('hex')}`,
    )
    expect(d.headers.get('content-type')).toBe('application/json')
    expect(d.body).toEqual({
      event: 'contact.submitted',
      timestamp: expect.any(String),
      data: {
        reference_id: ref,
        name: 'John Doe',
        email: 'john@example.com',
        phone: '+1-555-0123',
        company: 'Acme Inc',
        subject: 'Product Inquiry',
        message: "I'd like to learn more about your services.",
        extra_fields: { budget: '$5000-$10000' },
        source: 'homepage',
        submitted_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      },
    })
  })

  it('retries with backoff after the receiver fails twice, then delivers', async () => {
    const ref = await submit({ subject: 'Flaky CRM' })
    crm.plan.set(ref, { fail: 2 })
    await t.app.jobs.runDue()
    const first = await webhookJob(ref)
    expect(first).toMatchObject({ state: 'failed', attempts: 1, last_error: expect.stringContaining('answered 500') })
    // The next attempt waits for its backoff (200-400 ms here): running due jobs at once does not retry it.
    expect(new Date(first.run_at).getTime()).toBeGreaterThan(Date.now())
    await t.app.jobs.runDue()
    expect((await webhookJob(ref)).attempts).toBe(1)
    await drain(async () => (await webhookJob(ref))?.state === 'completed')
    expect((await webhookJob(ref)).attempts).toBe(3)
    const tries = crm.deliveries.filter((x) => x.headers.get('x-reference-id') === ref)
    expect(tries.length).toBe(3)
    expect(tries.every((x) => x.validSignature)).toBe(true)
    expect(tries.map((x) => x.headers.get('x-webhook-attempt'))).toEqual(['1', '2', '3'])
  })

  it('goes dead after CONTACT_JOB_MAX_ATTEMPTS, visible to admins with the last error', async () => {
    const ref = await submit({ subject: 'CRM down' })
    crm.plan.set(ref, { fail: -1 })
    await drain(async () => (await webhookJob(ref))?.state === 'dead')
    const job = await webhookJob(ref)
    expect(job).toMatchObject({ state: 'dead', attempts: 4, max_attempts: 4 })
    expect(job.last_error).toContain('CRM webhook answered 503')
    expect(crm.deliveries.filter((x) => x.headers.get('x-reference-id') === ref).length).toBe(4)
    const dead = await t.app.jobs.list({ queue: 'contact.deliver-webhook', state: 'dead', skip: 0, limit: 10 })
    expect(dead.items.map((j) => j.id)).toContain(job.job_id)
  })

  it('gives up on a receiver slower than CONTACT_WEBHOOK_TIMEOUT_MS and retries', async () => {
    const ref = await submit({ subject: 'Slow CRM' })
    crm.plan.set(ref, { delayMs: 1000 })
    await t.app.jobs.runDue()
    const job = await webhookJob(ref)
    expect(job.state).toBe('failed')
    expect(job.last_error).toContain('did not answer within 300 ms')
  })
})

import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { testApp, type TestApp } from '../../../core/testing/index.ts'
import email from '../../email/index.ts'
import contact from '../index.ts'
import { createFormTokens } from '../spam.ts'

const admin = { sub: 'contact-admin', email: 'contact-admin@example.com' }
const valid = { name: 'John Doe', email: 'john@example.com', message: "I'd like to learn more about your services." }

describe('contact rate limit per client IP', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await testApp({ plugins: [email, contact] })
  })
  afterAll(() => t?.close())

  it('reports the full quota to a new caller', async () => {
    const res = await t.get('/api/v1/public/contact/status', { ip: '198.51.100.9' })
    expect(res.status).toBe(200)
    expect(res.body.available).toBe(true)
    expect(res.body.rate_limit).toMatchObject({ limit: 5, remaining: 5, window: '5/hour' })
    expect(res.body.rate_limit.reset).toBeGreaterThan(Date.now() / 1000)
    expect(res.body.config).toEqual({ require_subject: false, require_phone: false, sends_confirmation: true })
  })

  it('answers the 6th submission from one IP in an hour with 429 while another IP passes', async () => {
    const ip = '198.51.100.1'
    for (let i = 1; i <= 5; i++) {
      const res = await t.post('/api/v1/public/contact', valid, { ip })
      expect(res.status).toBe(200)
      expect(res.headers.get('x-ratelimit-limit')).toBe('5')
      expect(res.headers.get('x-ratelimit-remaining')).toBe(String(5 - i))
    }
    const status = await t.get('/api/v1/public/contact/status', { ip })
    expect(status.body.available).toBe(false)
    expect(status.body.rate_limit.remaining).toBe(0)

    const sixth = await t.post('/api/v1/public/contact', valid, { ip })
    expect(sixth.status).toBe(429)
    expect(sixth.body.error.code).toBe('RATE_LIMIT_EXCEEDED')
    expect(sixth.body.error.message).toBe('Too many contact form submissions. Please try again later.')
    expect(sixth.body.error.details.retry_after).toBeGreaterThan(3500)
    expect(sixth.body.error.details.retry_after).toBeLessThanOrEqual(3600)
    expect(Number(sixth.headers.get('retry-after'))).toBe(sixth.body.error.details.retry_after)

    const other = await t.post('/api/v1/public/contact', valid, { ip: '198.51.100.2' })
    expect(other.status).toBe(200)
    const rows = await t.app.db.sql`select count(*)::int as n from contact_submissions where ip_address = ${ip}`
    expect(rows[0]!.n).toBe(5)
  })

  it('does not count a status check as a submission', async () => {
    const ip = '198.51.100.3'
    await t.post('/api/v1/public/contact', valid, { ip })
    await t.post('/api/v1/public/contact', valid, { ip })
    const a = await t.get('/api/v1/public/contact/status', { ip })
    const b = await t.get('/api/v1/public/contact/status', { ip })
    expect(a.body.rate_limit.remaining).toBe(3)
    expect(b.body.rate_limit.remaining).toBe(3)
  })

  it('ignores X-Forwarded-For from an untrusted peer', async () => {
    const ip = '198.51.100.4'
    for (let i = 0; i < 5; i++) {
      await t.post('/api/v1/public/contact', valid, { ip, headers: { 'x-forwarded-for': `10.9.9.${i}` } })
    }
    const res = await t.post('/api/v1/public/contact', valid, { ip, headers: { 'x-forwarded-for': '10.9.9.200' } })
    expect(res.status).toBe(429)
  })
})

describe('contact spam defences', () => {
  let t: TestApp
  const published: string[] = []
  const env = {
    SUPERADMIN_EMAILS: admin.email,
    CONTACT_RATE_LIMIT: '1000/hour',
    ADMIN_EMAIL: 'ops@example.com',
    CONTACT_WEBHOOK_URL: 'http://127.0.0.1:9/never-called',
    CONTACT_WEBHOOK_SECRET: 'a-webhook-secret-of-32-characters',
    CONTACT_MIN_FILL_SECONDS: '3',
  }
  beforeAll(async () => {
    t = await testApp({ plugins: [email, contact], env })
    t.app.events.subscribe('contact.submitted', ({ submission }) => void published.push(submission.reference_id))
  })
  afterAll(() => t?.close())

  const jobsOf = async (reference: string) =>
    (await t.as(admin).get(`/api/v1/admin/contact/submissions/${reference}`)).body as {
      is_spam: boolean
      spam_reason: string | null
      deliveries: { name: string }[]
    }
  const settle = () => new Promise((r) => setTimeout(r, 20))

  it('queues both emails and the webhook for a genuine submission and publishes contact.submitted', async () => {
    const res = await t.post('/api/v1/public/contact', { ...valid, website: '' })
    expect(res.status).toBe(200)
    const row = await jobsOf(res.body.reference_id)
    expect(row.is_spam).toBe(false)
    expect(row.deliveries.map((d) => d.name).sort()).toEqual([
      'contact.deliver-webhook',
      'contact.send-email',
      'contact.send-email',
    ])
    await settle()
    expect(published).toContain(res.body.reference_id)
  })

  it('marks a filled honeypot as spam, answers the same 200 and triggers nothing', async () => {
    const before = (await t.app.jobs.list({ queue: 'contact', skip: 0, limit: 100 })).total
    const res = await t.post('/api/v1/public/contact', { ...valid, website: 'http://spam.example' })
    expect(res.status).toBe(200)
    expect(res.body).toEqual({
      success: true,
      message: "Thank you for your message. We'll get back to you soon!",
      reference_id: expect.stringMatching(/^CNT-/),
    })
    const row = await jobsOf(res.body.reference_id)
    expect(row).toMatchObject({ is_spam: true, spam_reason: 'honeypot', deliveries: [] })
    expect((await t.app.jobs.list({ queue: 'contact', skip: 0, limit: 100 })).total).toBe(before)
    await t.app.jobs.runDue()
    const outbox = await t.as(admin).get('/api/v1/admin/email/outbox?to=john@example.com')
    expect(outbox.body.items.every((m: { text: string }) => !m.text.includes(res.body.reference_id))).toBe(true)
    await settle()
    expect(published).not.toContain(res.body.reference_id)
  })

  it('marks a submission sent sooner than the minimum fill time after its form token', async () => {
    const token = (await t.get('/api/v1/public/contact/status')).body.form_token
    const res = await t.post('/api/v1/public/contact', { ...valid, form_token: token })
    expect(res.status).toBe(200)
    expect(await jobsOf(res.body.reference_id)).toMatchObject({
      is_spam: true,
      spam_reason: 'too_fast',
      deliveries: [],
    })
  })

  it('accepts a form token older than the minimum fill time', async () => {
    const token = await createFormTokens(t.app.db.sql).issue(Date.now() - 4000)
    const res = await t.post('/api/v1/public/contact', { ...valid, form_token: token })
    const row = await jobsOf(res.body.reference_id)
    expect(row.is_spam).toBe(false)
    expect(row.deliveries.length).toBe(3)
  })

  it('marks a forged form token as spam', async () => {
    const forged = `${(Date.now() - 60_000).toString(36)}.${'A'.repeat(32)}`
    const res = await t.post('/api/v1/public/contact', { ...valid, form_token: forged })
    expect(await jobsOf(res.body.reference_id)).toMatchObject({ is_spam: true, spam_reason: 'form_token_invalid' })
  })

  it('checks nothing for a form that sends neither defence', async () => {
    const res = await t.post('/api/v1/public/contact', valid)
    expect((await jobsOf(res.body.reference_id)).is_spam).toBe(false)
  })
})

describe('contact spam defences, configured', () => {
  it('uses CONTACT_HONEYPOT_FIELD and turns the fill time off with 0', async () => {
    const t = await testApp({
      plugins: [email, contact],
      env: { SUPERADMIN_EMAILS: admin.email, CONTACT_HONEYPOT_FIELD: 'fax_number', CONTACT_MIN_FILL_SECONDS: '0' },
    })
    try {
      const token = (await t.get('/api/v1/public/contact/status')).body.form_token
      const quick = await t.post('/api/v1/public/contact', { ...valid, form_token: token, website: 'ignored now' })
      const trap = await t.post('/api/v1/public/contact', { ...valid, fax_number: '555-0100' })
      const get = (ref: string) => t.as(admin).get(`/api/v1/admin/contact/submissions/${ref}`)
      expect((await get(quick.body.reference_id)).body.is_spam).toBe(false)
      expect((await get(trap.body.reference_id)).body).toMatchObject({ is_spam: true, spam_reason: 'honeypot' })
    } finally {
      await t.close()
    }
  })

  it('refuses a bad configuration at start, naming each variable', async () => {
    const err = await testApp({
      plugins: [email, contact],
      env: {
        CONTACT_HONEYPOT_FIELD: 'email',
        CONTACT_RATE_LIMIT: 'lots',
        ADMIN_EMAIL: 'not-an-email',
        CONTACT_WEBHOOK_SECRET: 'short',
      },
    }).catch((e: Error) => e)
    expect(err).toBeInstanceOf(Error)
    const message = (err as Error).message
    for (const name of ['CONTACT_HONEYPOT_FIELD', 'CONTACT_RATE_LIMIT', 'ADMIN_EMAIL', 'CONTACT_WEBHOOK_SECRET'])
      expect(message).toContain(name)
  })
})

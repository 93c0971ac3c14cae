import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { definePlugin, type MeterEvent } from '../../../core/index.ts'
import { testApp, type TestApp } from '../../../core/testing/index.ts'
import email, { type EmailService } from '../index.ts'
import { startSmtpSink, type SmtpSink } from './smtp-sink.ts'

const admin = { sub: 'mail-admin', email: 'mail-admin@example.com' }
const ADMIN_ENV = { SUPERADMIN_EMAILS: admin.email }

describe('email without SMTP_URL', () => {
  let t: TestApp
  let mail: EmailService
  beforeAll(async () => {
    t = await testApp({ plugins: [email], env: { ...ADMIN_ENV, PUBLIC_URL: 'https://api.example.org' } })
    mail = t.app.service(email)
  })
  afterAll(() => t?.close())

  it('keeps the email in the outbox with a from address on the public host', async () => {
    const r = await mail.send({ to: 'ann@example.com', subject: 'Hello', text: 'Body text', tag: 'test.hello' })
    expect(r).toMatchObject({ transport: 'outbox', duplicate: false, messageId: null })
    expect(mail.from).toBe('OmniStack <no-reply@api.example.org>')
    const res = await t.as(admin).get('/api/v1/admin/email/outbox?tag=test.hello')
    expect(res.status).toBe(200)
    expect(res.body.total).toBe(1)
    expect(res.body.items[0]).toMatchObject({
      id: r.id,
      to: ['ann@example.com'],
      subject: 'Hello',
      text: 'Body text',
      transport: 'outbox',
      status: 'stored',
    })
  })

  it('sends a dedupe key once', async () => {
    const a = await mail.send({ to: 'bob@example.com', subject: 'Once', text: 'x', dedupeKey: 'k-1' })
    const b = await mail.send({ to: 'bob@example.com', subject: 'Once', text: 'x', dedupeKey: 'k-1' })
    expect(b).toMatchObject({ id: a.id, duplicate: true })
    const res = await t.as(admin).get('/api/v1/admin/email/outbox?to=BOB@example.com')
    expect(res.body.total).toBe(1)
  })

  it('strips line breaks from the subject (no header injection)', async () => {
    await mail.send({ to: 'eve@example.com', subject: 'Hi\r\nBcc: victim@example.com', text: 'x', tag: 'test.inject' })
    const res = await t.as(admin).get('/api/v1/admin/email/outbox?tag=test.inject')
    expect(res.body.items[0].subject).toBe('Hi Bcc: victim@example.com')
  })

  it('paginates in v2 and refuses the outbox to non-admins', async () => {
    const v2 = await t.as(admin).get('/api/v2/admin/email/outbox?limit=1')
    expect(v2.body.data.length).toBe(1)
    expect(v2.body.meta.pagination).toMatchObject({ skip: 0, limit: 1 })
    expect(v2.body.meta.pagination.total).toBeGreaterThanOrEqual(3)
    const user = await t.as('someone').get('/api/v1/admin/email/outbox')
    expect(user.status).toBe(403)
    const bad = await t.as(admin).get('/api/v1/admin/email/outbox?limit=500')
    expect(bad.status).toBe(422)
    expect(bad.body.error.details.field).toBe('limit')
  })
})

describe('email through SMTP', () => {
  let t: TestApp
  let sink: SmtpSink
  let mail: EmailService
  const metered: MeterEvent[] = []
  const recorder = definePlugin({
    name: 'meter-recorder',
    setup: () => ({ meterSink: { record: (e) => void metered.push(e), flush: async () => {} } }),
  })

  beforeAll(async () => {
    sink = await startSmtpSink()
    t = await testApp({
      plugins: [email, recorder],
      env: { ...ADMIN_ENV, SMTP_URL: sink.url, EMAIL_FROM: 'Acme <hello@acme.test>' },
    })
    mail = t.app.service(email)
  })
  afterAll(async () => {
    await t?.close()
    await sink?.close()
  })

  it('delivers to a real SMTP server with from, to, reply-to and subject', async () => {
    const r = await mail.send({
      to: ['one@example.com', 'two@example.com'],
      subject: 'Quarterly report',
      text: 'The numbers are in.',
      replyTo: 'boss@example.com',
      userId: 'u-42',
      tag: 'test.smtp',
    })
    expect(r.transport).toBe('smtp')
    expect(r.messageId).toContain('@')
    const [m] = await sink.waitFor(1)
    expect(m!.from).toBe('hello@acme.test')
    expect(m!.to).toEqual(['one@example.com', 'two@example.com'])
    expect(m!.headers.subject).toBe('Quarterly report')
    expect(m!.headers['reply-to']).toBe('boss@example.com')
    expect(m!.text).toContain('The numbers are in.')
    const row = (await t.as(admin).get('/api/v1/admin/email/outbox?tag=test.smtp')).body.items[0]
    expect(row).toMatchObject({ transport: 'smtp', status: 'sent', message_id: r.messageId })
    expect(metered.filter((e) => e.metric === 'email_sent')).toMatchObject([
      { userId: 'u-42', value: 1, dimensions: { template: 'test.smtp' } },
    ])
  })

  it('throws when the server refuses, and records nothing', async () => {
    sink.failNext(1)
    await expect(
      mail.send({ to: 'x@example.com', subject: 'Refused', text: 'x', tag: 'test.refused' }),
    ).rejects.toThrow(/451/)
    const res = await t.as(admin).get('/api/v1/admin/email/outbox?tag=test.refused')
    expect(res.body.total).toBe(0)
  })
})

describe('email config', () => {
  it('refuses a SMTP_URL that is not smtp or smtps, naming the variable', async () => {
    await expect(testApp({ plugins: [email], env: { SMTP_URL: 'http://mail.example.com' } })).rejects.toThrow(
      /SMTP_URL/,
    )
  })
})

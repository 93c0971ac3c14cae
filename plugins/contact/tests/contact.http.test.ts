import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { testApp, type TestApp } from '../../../core/testing/index.ts'
import email from '../../email/index.ts'
import contact from '../index.ts'
import { REFERENCE_PATTERN } from '../reference.ts'
import { createContactService } from '../service.ts'
import { createFormTokens } from '../spam.ts'

const admin = { sub: 'contact-admin', email: 'contact-admin@example.com' }
const valid = { name: 'John Doe', email: 'john@example.com', message: "I'd like to learn more about your services." }
const submit = (t: TestApp, body: unknown, ip = '203.0.113.10') => t.post('/api/v1/public/contact', body, { ip })

describe('contact form fields', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await testApp({
      plugins: [email, contact],
      env: { SUPERADMIN_EMAILS: admin.email, CONTACT_RATE_LIMIT: '1000/hour' },
    })
  })
  afterAll(() => t?.close())

  it('accepts the seed example and answers with a CNT- reference', async () => {
    const res = await submit(t, {
      ...valid,
      subject: 'Product Inquiry',
      phone: '+1-555-0123',
      company: 'Acme Inc',
      extra_fields: { budget: '$5000-$10000', project_type: 'web-app', seats: 12, urgent: false, note: null },
      source: 'homepage',
    })
    expect(res.status).toBe(200)
    expect(res.body.success).toBe(true)
    expect(res.body.message).toBe("Thank you for your message. We'll get back to you soon!")
    expect(res.body.reference_id).toMatch(REFERENCE_PATTERN)
    const stored = await t.as(admin).get(`/api/v1/admin/contact/submissions/${res.body.reference_id}`)
    expect(stored.body).toMatchObject({
      ...valid,
      subject: 'Product Inquiry',
      phone: '+1-555-0123',
      company: 'Acme Inc',
      source: 'homepage',
      extra_fields: { budget: '$5000-$10000', project_type: 'web-app', seats: 12, urgent: false, note: null },
      is_spam: false,
      ip_address: '203.0.113.10',
    })
  })

  const long = (n: number) => 'x'.repeat(n)
  const keys = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]))
  const refused: [string, Record<string, unknown>, string][] = [
    ['name missing', { email: valid.email, message: valid.message }, 'name'],
    ['name of 1 char', { ...valid, name: 'J' }, 'name'],
    ['name of 101 chars', { ...valid, name: long(101) }, 'name'],
    ['name of spaces', { ...valid, name: ' J  ' }, 'name'],
    ['email missing', { name: valid.name, message: valid.message }, 'email'],
    ['email invalid', { ...valid, email: 'john.example.com' }, 'email'],
    ['email not a string', { ...valid, email: 42 }, 'email'],
    ['message missing', { name: valid.name, email: valid.email }, 'message'],
    ['message of 9 chars', { ...valid, message: 'too short' }, 'message'],
    ['message of 5001 chars', { ...valid, message: long(5001) }, 'message'],
    ['message padded to 10 with spaces', { ...valid, message: '   short   ' }, 'message'],
    ['subject of 201 chars', { ...valid, subject: long(201) }, 'subject'],
    ['phone of 51 chars', { ...valid, phone: long(51) }, 'phone'],
    ['company of 201 chars', { ...valid, company: long(201) }, 'company'],
    ['source of 101 chars', { ...valid, source: long(101) }, 'source'],
    ['extra_fields with 51 keys', { ...valid, extra_fields: keys(51) }, 'extra_fields'],
    ['extra_fields a string', { ...valid, extra_fields: 'budget' }, 'extra_fields'],
    ['extra_fields a number', { ...valid, extra_fields: 5 }, 'extra_fields'],
    ['extra_fields an array', { ...valid, extra_fields: ['a'] }, 'extra_fields'],
    ['name not a string', { ...valid, name: 12345 }, 'name'],
    ['subject not a string', { ...valid, subject: { a: 1 } }, 'subject'],
    ['extra_fields with an object value', { ...valid, extra_fields: { nested: { a: 1 } } }, 'extra_fields.nested'],
    ['extra_fields with an array value', { ...valid, extra_fields: { list: [1, 2] } }, 'extra_fields.list'],
    ['extra_fields with a 101-char key', { ...valid, extra_fields: { [long(101)]: 'v' } }, 'extra_fields'],
  ]
  for (const [what, body, field] of refused) {
    it(`answers 422 with details.field for ${what}`, async () => {
      const res = await submit(t, body)
      expect(res.status).toBe(422)
      expect(res.body.error.code).toBe('VALIDATION_ERROR')
      expect(res.body.error.details.field).toBe(field)
    })
  }

  it('accepts every field at its bound', async () => {
    const res = await submit(t, {
      name: long(100),
      email: valid.email,
      message: long(5000),
      subject: long(200),
      phone: long(50),
      company: long(200),
      source: long(100),
      extra_fields: keys(50),
    })
    expect(res.status).toBe(200)
    const short = await submit(t, { ...valid, name: 'Jo', message: '0123456789' })
    expect(short.status).toBe(200)
  })

  it('treats blank optional fields as absent and trims what it stores', async () => {
    const res = await submit(t, { ...valid, name: '  Ann Lee ', subject: '   ', phone: null, company: '' })
    expect(res.status).toBe(200)
    const row = (await t.as(admin).get(`/api/v1/admin/contact/submissions/${res.body.reference_id}`)).body
    expect(row).toMatchObject({ name: 'Ann Lee', subject: null, phone: null, company: null, extra_fields: {} })
  })

  it('answers 400 for malformed JSON', async () => {
    const res = await t.request('POST', '/api/v1/public/contact', {
      raw: '{"name": ',
      headers: { 'content-type': 'application/json' },
    })
    expect(res.status).toBe(400)
    expect(res.body.error.code).toBe('BAD_REQUEST')
  })

  it('hands out distinct references in the CNT-XXXXXXXX format', async () => {
    const refs = new Set<string>()
    for (let i = 0; i < 25; i++) refs.add((await submit(t, valid)).body.reference_id)
    expect(refs.size).toBe(25)
    for (const r of refs) expect(r).toMatch(/^CNT-[A-Z0-9]{8}$/)
  })

  it('draws another reference when one is already taken', async () => {
    const sql = t.app.db.sql
    const forced = ['CNT-TAKEN001', 'CNT-TAKEN001', 'CNT-FRESH002']
    const service = createContactService(
      {
        sql,
        jobs: t.app.jobs,
        events: t.app.events,
        logger: t.app.logger,
        tokens: createFormTokens(sql),
        newReference: () => forced.shift()!,
        settings: {
          sendConfirmation: false,
          adminEmails: [],
          minFillMs: 0,
          honeypotField: 'website',
          jobMaxAttempts: 1,
          jobBackoffMs: 0,
        },
      },
      { subject: false, phone: false },
    )
    const meta = { ip: '127.0.0.1', userAgent: null }
    expect((await service.submit(valid, meta)).reference_id).toBe('CNT-TAKEN001')
    expect((await service.submit(valid, meta)).reference_id).toBe('CNT-FRESH002')
    const rows = await sql`select count(*)::int as n from contact_submissions where reference_id = 'CNT-TAKEN001'`
    expect(rows[0]!.n).toBe(1)
  })

  it('serves v2 enveloped and documents both routes in OpenAPI', async () => {
    const res = await t.post('/api/v2/public/contact', valid, { ip: '203.0.113.99' })
    expect(res.body.data.reference_id).toMatch(REFERENCE_PATTERN)
    expect(res.body.meta.version).toBe('v2')
    const spec = (await t.get('/openapi.json')).body
    expect(spec.paths['/api/v1/public/contact'].post.requestBody).toBeDefined()
    expect(spec.paths['/api/v1/public/contact/status'].get.tags).toEqual(['Contact'])
    expect(spec.paths['/api/v1/admin/contact/submissions'].get.security).toBeDefined()
  })
})

describe('contact form required subject and phone', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await testApp({
      plugins: [email, contact],
      env: { CONTACT_REQUIRE_SUBJECT: 'true', CONTACT_REQUIRE_PHONE: 'true', CONTACT_RATE_LIMIT: '100/hour' },
    })
  })
  afterAll(() => t?.close())

  it('refuses a missing or blank subject and phone, naming the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ ...valid, phone: '+1 555' }, 'subject'],
      [{ ...valid, subject: '  ', phone: '+1 555' }, 'subject'],
      [{ ...valid, subject: 'Hi' }, 'phone'],
      [{ ...valid, subject: 'Hi', phone: '' }, 'phone'],
    ]
    for (const [body, field] of cases) {
      const res = await submit(t, body)
      expect(res.status).toBe(422)
      expect(res.body.error.details.field).toBe(field)
    }
    expect((await submit(t, { ...valid, subject: 'Hi', phone: '+1 555' })).status).toBe(200)
  })

  it('reports the modes in the status', async () => {
    const res = await t.get('/api/v1/public/contact/status')
    expect(res.body.config).toEqual({ require_subject: true, require_phone: true, sends_confirmation: true })
  })
})

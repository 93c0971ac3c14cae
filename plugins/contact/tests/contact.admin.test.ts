import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { testApp, type TestApp } from '../../../core/testing/index.ts'
import email from '../../email/index.ts'
import contact from '../index.ts'

const admin = { sub: 'contact-admin', email: 'contact-admin@example.com' }
const base = { email: 'someone@example.com', message: 'Please call me back about pricing.' }

describe('contact admin list', () => {
  let t: TestApp
  const refs: string[] = []
  beforeAll(async () => {
    t = await testApp({
      plugins: [email, contact],
      env: { SUPERADMIN_EMAILS: admin.email, CONTACT_RATE_LIMIT: '1000/hour' },
    })
    for (const name of ['Alice Archer', 'Bob Baker', 'Carol Cooper']) {
      refs.push((await t.post('/api/v1/public/contact', { ...base, name, subject: `About ${name}` })).body.reference_id)
      // Newest first is by created_at (milliseconds on PGlite): keep the submissions apart.
      await Bun.sleep(2)
    }
    refs.push((await t.post('/api/v1/public/contact', { ...base, name: 'Spam Bot', website: 'x' })).body.reference_id)
  })
  afterAll(() => t?.close())

  it('lists newest first with pagination', async () => {
    const res = await t.as(admin).get('/api/v1/admin/contact/submissions?limit=2')
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ total: 4, skip: 0, limit: 2 })
    expect(res.body.items.map((i: { reference_id: string }) => i.reference_id)).toEqual([refs[3], refs[2]])
    const next = await t.as(admin).get('/api/v1/admin/contact/submissions?skip=2&limit=2')
    expect(next.body.items.map((i: { reference_id: string }) => i.reference_id)).toEqual([refs[1], refs[0]])
    const past = await t.as(admin).get('/api/v1/admin/contact/submissions?skip=10')
    expect(past.body).toMatchObject({ items: [], total: 4 })
  })

  it('filters spam and searches name, email, subject and reference', async () => {
    const spam = await t.as(admin).get('/api/v1/admin/contact/submissions?spam=true')
    expect(spam.body.items.map((i: { name: string }) => i.name)).toEqual(['Spam Bot'])
    const genuine = await t.as(admin).get('/api/v1/admin/contact/submissions?spam=false')
    expect(genuine.body.total).toBe(3)
    const byName = await t.as(admin).get('/api/v1/admin/contact/submissions?q=bak')
    expect(byName.body.items.map((i: { name: string }) => i.name)).toEqual(['Bob Baker'])
    const byRef = await t.as(admin).get(`/api/v1/admin/contact/submissions?q=${refs[2]!.toLowerCase()}`)
    expect(byRef.body.items.map((i: { name: string }) => i.name)).toEqual(['Carol Cooper'])
    const wildcard = await t.as(admin).get('/api/v1/admin/contact/submissions?q=%25')
    expect(wildcard.body.total).toBe(0)
  })

  it('wraps the list in v2 with pagination in meta', async () => {
    const res = await t.as(admin).get('/api/v2/admin/contact/submissions?limit=1')
    expect(res.body.data.length).toBe(1)
    // More rows follow: next_after is the cursor to them (docs/pagination.md).
    expect(res.body.meta.pagination).toEqual({ total: 4, skip: 0, limit: 1, next_after: expect.any(String) })
    const next = await t
      .as(admin)
      .get(`/api/v2/admin/contact/submissions?limit=1&after=${res.body.meta.pagination.next_after}`)
    expect(next.body.data.length).toBe(1)
    expect(next.body.data[0].id).not.toBe(res.body.data[0].id)
    expect(next.body.meta.pagination).toMatchObject({ total: 4, skip: 0, limit: 1 })
  })

  it('reads one submission by id or by reference, and 404s an unknown one', async () => {
    const byRef = await t.as(admin).get(`/api/v1/admin/contact/submissions/${refs[0]}`)
    expect(byRef.status).toBe(200)
    expect(byRef.body).toMatchObject({ reference_id: refs[0], name: 'Alice Archer', subject: 'About Alice Archer' })
    expect(byRef.body.deliveries.map((d: { name: string }) => d.name)).toEqual(['contact.send-email'])
    const byId = await t.as(admin).get(`/api/v1/admin/contact/submissions/${byRef.body.id}`)
    expect(byId.body.reference_id).toBe(refs[0])
    const missing = await t.as(admin).get('/api/v1/admin/contact/submissions/CNT-NOPE0000')
    expect(missing.status).toBe(404)
    expect(missing.body.error).toMatchObject({ code: 'NOT_FOUND', details: { resource: 'Submission' } })
  })

  it('keeps submissions from non-admins and anonymous callers', async () => {
    expect((await t.as('plain-user').get('/api/v1/admin/contact/submissions')).status).toBe(403)
    expect((await t.get('/api/v1/admin/contact/submissions')).status).toBe(401)
  })

  it('validates the query', async () => {
    const res = await t.as(admin).get('/api/v1/admin/contact/submissions?limit=0')
    expect(res.status).toBe(422)
    expect(res.body.error.details.field).toBe('limit')
  })
})

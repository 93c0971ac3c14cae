/** CSAT over HTTP (docs/plugins/tickets.md#csat): issued on close, the public form, answers once, voided by reopen, never stored in clear. */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { createHash } from 'node:crypto'
import { base, ticketsApp, type TicketsTestApp } from './support.ts'

const PUBLIC_URL = 'https://help.example.com'
let t: TicketsTestApp

beforeAll(async () => {
  t = await ticketsApp({ env: { PUBLIC_URL } })
  await t.user('agent1', 'agent')
  await t.user('alice')
  await t.user('bob')
})
afterAll(() => t?.close())

const open = async (user = 'alice') => {
  const res = await t.as(user).post(base, { title: 'VPN drops', description: 'Every hour or so' })
  expect(res.status).toBe(201)
  return res.body
}
const close = async (id: string, user = 'agent1') => {
  const res = await t.as(user).post(`${base}/${id}/close`)
  expect(res.status).toBe(200)
  return res.body
}
/** The path of a csat.url (the test client speaks to the app, not to PUBLIC_URL). */
const pathOf = (url: string) => new URL(url).pathname
const html = { headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' } }
const formPost = (path: string, raw: string) =>
  t.request('POST', path, {
    raw,
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: html.headers.accept },
  })
const row = async (id: string) => (await t.app.db.sql`select * from tickets where id = ${id}`)[0]!

describe('issue', () => {
  it('has no csat before the close; the close issues an unguessable link under PUBLIC_URL that requester and staff see', async () => {
    const a = await open()
    expect(a.csat).toBeUndefined()
    const closed = await close(a.id)
    expect(closed.csat).toEqual({ url: expect.any(String), score: null, comment: null, answered_at: null })
    expect(closed.csat.url).toMatch(/^https:\/\/help\.example\.com\/api\/v1\/public\/csat\/[A-Za-z0-9_-]{43}$/)
    // 43 base64url characters: 256 bits.
    expect((await t.as('alice').get(`${base}/${a.id}`)).body.csat).toEqual(closed.csat)
    expect((await t.as('agent1').get(`${base}/${a.number}`)).body.csat).toEqual(closed.csat)
    const listed = await t.as('alice').get(`${base}?status=closed`)
    expect(listed.body.items.find((i: any) => i.id === a.id).csat.url).toBe(closed.csat.url)
    // Another close of another ticket gets another token.
    const b = await close((await open()).id)
    expect(b.csat.url).not.toBe(closed.csat.url)
  })

  it('stores only a hash of the token: a database read yields no link', async () => {
    const a = await open()
    const { csat } = await close(a.id)
    const token = csat.url.split('/').pop()
    const r = await row(a.id)
    expect(JSON.stringify(r)).not.toContain(token)
    expect(r.csat_token_hash).toBe(createHash('sha256').update(token).digest('hex'))
    expect(r.csat_issued_at).toBeInstanceOf(Date)
  })

  it("does not show a requester another requester's ticket, nor its survey", async () => {
    const a = await open('alice')
    await close(a.id)
    expect((await t.as('bob').get(`${base}/${a.id}`)).status).toBe(404)
    const bobs = await t.as('bob').get(`${base}?limit=100`)
    expect(bobs.body.items.some((i: any) => i.id === a.id)).toBe(false)
  })

  it('shows url null rather than a wrong link when the token was issued under another key', async () => {
    const a = await open()
    await close(a.id)
    await t.app.db.sql`update tickets set csat_nonce = 'issued-elsewhere' where id = ${a.id}`
    const res = await t.as('agent1').get(`${base}/${a.id}`)
    expect(res.body.csat).toEqual({ url: null, score: null, comment: null, answered_at: null })
  })
})

describe('the public form', () => {
  it('serves a small HTML form whose CSP allows only itself', async () => {
    const a = await open()
    const { csat } = await close(a.id)
    const res = await t.get(pathOf(csat.url), html)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(res.headers.get('cache-control')).toBe('no-store')
    const csp = res.headers.get('content-security-policy')!
    expect(csp).toContain("default-src 'none'")
    expect(csp).toContain("form-action 'self'")
    expect(csp).toContain("frame-ancestors 'none'")
    expect(csp).not.toMatch(/https?:|\*|'unsafe-inline'/)
    // The one inline style is allowed by its hash, and nothing else is loaded.
    const style = /<style>([^<]*)<\/style>/.exec(res.text)![1]!
    expect(csp).toContain(`style-src 'sha256-${createHash('sha256').update(style).digest('base64')}'`)
    expect(res.text).not.toMatch(/<script|<link|<img|src=|href=|https?:\/\//)
    expect(res.text).toContain('<html lang="en">')
    expect(res.text).toContain('<form method="post">')
    expect(res.text).toContain(`#${a.number}`)
    expect(res.text).toMatch(/<legend>[^<]+<\/legend>/)
    expect(res.text).toContain('name="score" value="good" required')
    expect(res.text).toContain('name="score" value="bad"')
    expect(res.text).toContain('<label for="comment">')
    expect(res.text).toContain('<textarea id="comment" name="comment"')
    // Served under v2 too, never enveloped.
    expect((await t.get(pathOf(csat.url).replace('/v1/', '/v2/'), html)).headers.get('content-type')).toContain(
      'text/html',
    )
  })

  it('takes a JSON answer once: 200 {ok: true}, then 409; the ticket and its activity log carry it', async () => {
    const a = await open()
    const { csat } = await close(a.id)
    const res = await t.post(pathOf(csat.url), { score: 'good', comment: '  Quick and kind  ' })
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ ok: true })
    expect(res.headers.get('x-ratelimit-limit')).not.toBeNull()
    const again = await t.post(pathOf(csat.url), { score: 'bad' })
    expect(again.status).toBe(409)
    expect(again.body.error.code).toBe('CONFLICT')
    const seen = await t.as('alice').get(`${base}/${a.id}`)
    expect(seen.body.csat).toMatchObject({ url: csat.url, score: 'good', comment: 'Quick and kind' })
    expect(Date.parse(seen.body.csat.answered_at)).not.toBeNaN()
    const r = await row(a.id)
    expect(r).toMatchObject({ csat_score: 'good', csat_comment: 'Quick and kind' })
    const log = await t.as('agent1').get(`${base}/${a.id}/activity`)
    expect(log.body.items[0]).toMatchObject({
      action: 'csat_answered',
      actor_id: null,
      changes: { score: 'good', comment: 'Quick and kind' },
    })
    // The form of an answered survey says so.
    const form = await t.get(pathOf(csat.url), html)
    expect(form.status).toBe(409)
    expect(form.headers.get('content-type')).toContain('text/html')
    expect((await t.get(pathOf(csat.url))).body.error.code).toBe('CONFLICT')
  })

  it('takes "bad" without a comment, and the v2 answer is enveloped', async () => {
    const a = await open()
    const { csat } = await close(a.id)
    const res = await t.post(pathOf(csat.url).replace('/v1/', '/v2/'), { score: 'bad' })
    expect(res.status).toBe(200)
    expect(res.body.data).toEqual({ ok: true })
    expect((await t.as('agent1').get(`${base}/${a.id}`)).body.csat).toMatchObject({ score: 'bad', comment: null })
  })

  it('answers a browser form post with a thank-you page, then a 409 page', async () => {
    const a = await open()
    const { csat } = await close(a.id)
    const res = await formPost(pathOf(csat.url), 'score=bad&comment=Took+three+days')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'")
    expect(res.text).toContain('Thank you')
    expect((await t.as('alice').get(`${base}/${a.id}`)).body.csat).toMatchObject({
      score: 'bad',
      comment: 'Took three days',
    })
    const again = await formPost(pathOf(csat.url), 'score=good')
    expect(again.status).toBe(409)
    expect(again.headers.get('content-type')).toContain('text/html')
    expect(again.text).toContain('already been answered')
  })

  it('answers an unknown token 404: JSON for API clients, a page for browsers', async () => {
    const unknown = `/api/v1/public/csat/${'A'.repeat(43)}`
    for (const path of [unknown, '/api/v1/public/csat/short', `/api/v1/public/csat/${'A'.repeat(200)}`]) {
      const get = await t.get(path)
      expect(get.status).toBe(404)
      expect(get.body.error.code).toBe('NOT_FOUND')
      const post = await t.post(path, { score: 'good' })
      expect(post.status).toBe(404)
      expect(post.body.error.code).toBe('NOT_FOUND')
    }
    const page = await t.get(unknown, html)
    expect(page.status).toBe(404)
    expect(page.headers.get('content-type')).toContain('text/html')
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'")
    const form = await formPost(unknown, 'score=good')
    expect(form.status).toBe(404)
    expect(form.headers.get('content-type')).toContain('text/html')
  })

  it('validates the answer: 422 naming the field', async () => {
    const a = await open()
    const { csat } = await close(a.id)
    const bad = await t.post(pathOf(csat.url), { score: 'meh' })
    expect(bad.status).toBe(422)
    expect(bad.body.error.details.field).toBe('score')
    const long = await t.post(pathOf(csat.url), { score: 'good', comment: 'x'.repeat(2001) })
    expect(long.status).toBe(422)
    expect(long.body.error.details.field).toBe('comment')
    expect((await t.post(pathOf(csat.url), {})).body.error.details.field).toBe('score')
    // Nothing was recorded: the survey is still open.
    expect((await t.post(pathOf(csat.url), { score: 'good' })).status).toBe(200)
  })
})

describe('reopen', () => {
  it('voids an unanswered token (404 after reopen) and the next close issues a new one', async () => {
    const a = await open()
    const first = (await close(a.id)).csat.url
    const reopened = await t.as('alice').post(`${base}/${a.id}/reopen`)
    expect(reopened.status).toBe(200)
    expect(reopened.body.csat).toBeUndefined()
    expect((await t.get(pathOf(first))).status).toBe(404)
    expect((await t.post(pathOf(first), { score: 'good' })).status).toBe(404)
    expect((await t.get(pathOf(first), html)).status).toBe(404)
    const second = (await close(a.id, 'alice')).csat.url
    expect(second).not.toBe(first)
    expect((await t.post(pathOf(first), { score: 'good' })).status).toBe(404)
    expect((await t.get(pathOf(second), html)).status).toBe(200)
    expect((await t.post(pathOf(second), { score: 'good' })).status).toBe(200)
  })

  it('keeps an answered survey through a reopen; the next close asks again', async () => {
    const a = await open()
    const first = (await close(a.id)).csat.url
    expect((await t.post(pathOf(first), { score: 'bad', comment: 'not fixed' })).status).toBe(200)
    const reopened = await t.as('alice').post(`${base}/${a.id}/reopen`)
    expect(reopened.body.csat).toMatchObject({ url: first, score: 'bad', comment: 'not fixed' })
    expect((await t.post(pathOf(first), { score: 'good' })).status).toBe(409)
    const again = (await close(a.id)).csat
    expect(again).toMatchObject({ score: null, comment: null, answered_at: null })
    expect(again.url).not.toBe(first)
    expect((await t.post(pathOf(first), { score: 'good' })).status).toBe(404)
    expect((await t.post(pathOf(again.url), { score: 'good' })).status).toBe(200)
    // The first answer is still in the activity log.
    const log = await t.as('agent1').get(`${base}/${a.id}/activity?limit=100`)
    const answers = log.body.items.filter((i: any) => i.action === 'csat_answered').map((i: any) => i.changes.score)
    expect(answers).toEqual(['good', 'bad'])
  })

  it('a deleted ticket takes its survey with it', async () => {
    await t.user('boss', 'admin')
    const a = await open()
    const { csat } = await close(a.id)
    expect((await t.as('boss').delete(`${base}/${a.id}`)).status).toBe(204)
    expect((await t.get(pathOf(csat.url))).status).toBe(404)
  })
})

describe('rate limit', () => {
  it('counts public answers per client IP (the default class)', async () => {
    const small = await ticketsApp({ env: { RATE_LIMIT_DEFAULT: '3/minute' } })
    try {
      await small.user('agent1', 'agent')
      const a = await small.as('alice').post(base, { title: 'T', description: 'D' })
      const { csat } = (await small.as('agent1').post(`${base}/${a.body.id}/close`)).body
      const path = pathOf(csat.url)
      const statuses = []
      for (let i = 0; i < 4; i++)
        statuses.push((await small.post(path, { score: 'good' }, { ip: '203.0.113.7' })).status)
      expect(statuses).toEqual([200, 409, 409, 429])
      // Another address has its own counter.
      expect((await small.post(path, { score: 'good' }, { ip: '203.0.113.8' })).status).toBe(409)
    } finally {
      await small.close()
    }
  })
})

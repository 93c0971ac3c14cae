import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { testApp, type TestApp } from '../../testing/index.ts'
import { createEchoPlugin } from '../../testing/fixtures/echo-plugin.ts'

const echo = createEchoPlugin()
let t: TestApp

beforeAll(async () => {
  t = await testApp({ plugins: [echo.plugin] })
})
afterAll(() => t?.close())

describe('versions', () => {
  it('lets the path win over the header', async () => {
    const res = await t.as('alice').get('/api/v1/app/echo/me', { headers: { 'accept-version': 'v2' } })
    expect(res.headers.get('x-api-version')).toBe('v1')
    expect(res.body.id).toBe('alice')
  })

  it('serves unversioned /api with the header version, then the default', async () => {
    const v2 = await t.as('alice').get('/api/app/echo/me', { headers: { 'x-api-version': 'v2' } })
    expect(v2.status).toBe(200)
    expect(v2.headers.get('x-api-version')).toBe('v2')
    expect(v2.body.data.id).toBe('alice')
    const v2b = await t.get('/api/public/health', { headers: { 'accept-version': 'v2' } })
    expect(v2b.headers.get('x-api-version')).toBe('v2')
    const dflt = await t.get('/api/public/health')
    expect(dflt.headers.get('x-api-version')).toBe('v1')
    expect(dflt.headers.get('x-api-latest-version')).toBe('v2')
    expect(dflt.body.status).toBe('healthy')
  })

  it('answers 400 for an unknown version in the path or the header', async () => {
    const a = await t.get('/api/v9/public/health')
    expect(a.status).toBe(400)
    expect(a.body.error.code).toBe('BAD_REQUEST')
    const b = await t.get('/api/public/health', { headers: { 'accept-version': 'v7' } })
    expect(b.status).toBe(400)
    expect(b.body.error.message).toContain('v7')
  })

  it('sends no deprecation headers when nothing is deprecated', async () => {
    const res = await t.get('/api/v1/public/health')
    expect(res.headers.get('deprecation')).toBeNull()
    expect(res.headers.get('sunset')).toBeNull()
    expect(res.headers.get('link')).toBeNull()
  })
})

describe('envelopes', () => {
  it('returns v1 raw', async () => {
    const res = await t.as('alice').get('/api/v1/app/echo/items/item-3')
    expect(res.body).toEqual({ id: 'item-3', name: 'Item 3' })
  })

  it('wraps v2 in data and meta', async () => {
    const res = await t.as('alice').get('/api/v2/app/echo/items/item-3', { headers: { 'x-request-id': 'abc-123' } })
    expect(res.body.data).toEqual({ id: 'item-3', name: 'Item 3' })
    expect(res.body.meta.request_id).toBe('abc-123')
    expect(res.body.meta.version).toBe('v2')
    expect(new Date(res.body.meta.timestamp).toISOString()).toBe(res.body.meta.timestamp)
  })

  it('puts v1 lists as items/total/skip/limit and v2 pagination in meta', async () => {
    const v1 = await t.as('alice').get('/api/v1/app/echo/items?skip=20&limit=10')
    expect(v1.body.items.length).toBe(5)
    expect(v1.body).toMatchObject({ total: 25, skip: 20, limit: 10 })
    const v2 = await t.as('alice').get('/api/v2/app/echo/items?limit=2')
    expect(v2.body.data).toEqual([
      { id: 'item-1', name: 'Item 1' },
      { id: 'item-2', name: 'Item 2' },
    ])
    expect(v2.body.meta.pagination).toEqual({ total: 25, skip: 0, limit: 2 })
  })

  it('rejects pagination out of range with 422', async () => {
    for (const q of ['limit=0', 'limit=101', 'skip=-1']) {
      const res = await t.as('alice').get(`/api/v1/app/echo/items?${q}`)
      expect(res.status).toBe(422)
      expect(res.body.error.details.field).toBe(q.split('=')[0])
    }
  })

  it('keeps the error object in v2 and adds meta', async () => {
    const res = await t.as('alice').get('/api/v2/app/echo/items/nope')
    expect(res.status).toBe(404)
    expect(res.body.error).toEqual({
      code: 'NOT_FOUND',
      message: 'Item not found',
      details: { resource: 'Item', id: 'nope' },
    })
    expect(res.body.meta.version).toBe('v2')
    expect(res.body.meta.request_id).toBe(res.headers.get('x-request-id'))
  })

  it('leaves 204 empty in both versions', async () => {
    for (const v of ['v1', 'v2']) {
      const res = await t.as('alice').delete(`/api/${v}/app/echo/items/item-1`)
      expect(res.status).toBe(204)
      expect(res.text).toBe('')
    }
  })

  it('echoes a valid request id and replaces an invalid one', async () => {
    const ok = await t.get('/api/v1/public/echo/ping', { headers: { 'x-request-id': 'req.42_A-b' } })
    expect(ok.headers.get('x-request-id')).toBe('req.42_A-b')
    const bad = await t.get('/api/v1/public/echo/ping', { headers: { 'x-request-id': 'has spaces/and<html>' } })
    expect(bad.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
    const long = await t.get('/api/v1/public/echo/ping', { headers: { 'x-request-id': 'a'.repeat(129) } })
    expect(long.headers.get('x-request-id')).not.toBe('a'.repeat(129))
  })
})

describe('errors', () => {
  it('answers malformed JSON with 400 BAD_REQUEST', async () => {
    const res = await t.post('/api/v1/public/echo/json', undefined, {
      raw: '{"name": ',
      headers: { 'content-type': 'application/json' },
    })
    expect(res.status).toBe(400)
    expect(res.body.error.code).toBe('BAD_REQUEST')
  })

  it('answers a schema failure with 422 and details.field', async () => {
    const res = await t.post('/api/v1/public/echo/json', { name: '' })
    expect(res.status).toBe(422)
    expect(res.body.error.code).toBe('VALIDATION_ERROR')
    expect(res.body.error.details.field).toBe('name')
    expect(res.body.error.details.errors[0].field).toBe('name')
  })

  it('answers unknown routes with 404 in the same shape, with the usual headers', async () => {
    for (const path of ['/api/v1/public/nothing-here', '/nothing', '/api/v2/public/nothing']) {
      const res = await t.get(path)
      expect(res.status).toBe(404)
      expect(res.body.error.code).toBe('NOT_FOUND')
      expect(res.headers.get('x-request-id')).toBeTruthy()
      expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    }
  })

  it('turns an unknown error into 500 INTERNAL_ERROR without stack or SQL', async () => {
    const res = await t.as('alice').get('/api/v1/app/echo/boom')
    expect(res.status).toBe(500)
    expect(res.body.error.code).toBe('INTERNAL_ERROR')
    expect(res.body.error.details.request_id).toBe(res.headers.get('x-request-id'))
    expect(res.text).not.toContain('secret_table')
    expect(res.text).not.toContain('at ')
  })

  it('answers an oversized body with 413 by Content-Length and when streamed', async () => {
    const big = JSON.stringify({ name: 'x'.repeat(1_100_000) })
    const res = await t.post('/api/v1/public/echo/json', undefined, {
      raw: big,
      headers: { 'content-type': 'application/json' },
    })
    expect(res.status).toBe(413)
    expect(res.body.error.code).toBe('PAYLOAD_TOO_LARGE')
    const stream = new ReadableStream({
      start(c) {
        for (let i = 0; i < 12; i++) c.enqueue(new TextEncoder().encode('x'.repeat(100_000)))
        c.close()
      },
    })
    const chunked = await t.app.handle(
      new Request('http://localhost/api/v1/public/echo/json', {
        method: 'POST',
        body: stream,
        headers: { 'content-type': 'application/json' },
      }),
    )
    expect(chunked.status).toBe(413)
  })
})

describe('security headers', () => {
  it('sets the seed headers without HSTS outside production', async () => {
    const res = await t.get('/api/v1/public/health')
    expect(res.headers.get('x-frame-options')).toBe('DENY')
    expect(res.headers.get('content-security-policy')).toBe("default-src 'self'")
    expect(res.headers.get('strict-transport-security')).toBeNull()
  })
})

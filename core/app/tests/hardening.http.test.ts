/**
 * Hostile requests the pipeline refuses before they cost anything (docs/security.md): deep JSON,
 * numbers in disguise, oversized URLs and headers, and guessing credentials from one address.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { createEchoPlugin } from '../../testing/fixtures/echo-plugin.ts'
import { testApp, type TestApp } from '../../testing/index.ts'

let t: TestApp
beforeAll(async () => {
  t = await testApp({ plugins: [createEchoPlugin().plugin], env: { RATE_LIMIT_AUTH: '3/minute' } })
  // The test client compiles the app's OpenAPI documents on its first request
  // (docs/testing.md): done here, so the timed requests below time the server only.
  await t.get('/api/v1/public/health')
}, 120_000)
afterAll(() => t?.close())

const expectContractError = (res: { status: number; body: any; headers: Headers }, status: number, code: string) => {
  expect(res.status).toBe(status)
  expect(res.body.error.code).toBe(code)
  expect(typeof res.body.error.message).toBe('string')
  expect(res.headers.get('x-request-id')).toBeTruthy()
  expect(res.headers.get('x-api-version')).toBe('v1')
}

describe('bodies bounded in depth (MAX_JSON_DEPTH)', () => {
  it('refuses a 20,000-deep body with 400 before validation, quickly, while /health stays fast', async () => {
    for (const deep of ['['.repeat(20_000) + ']'.repeat(20_000), '{"x":'.repeat(20_000) + '1' + '}'.repeat(20_000)]) {
      const started = performance.now()
      const res = await t.as('deep').post('/api/v1/app/echo/items', undefined, {
        headers: { 'content-type': 'application/json' },
        raw: `{"name":${deep}}`,
      })
      const ms = performance.now() - started
      expectContractError(res, 400, 'BAD_REQUEST')
      expect(res.body.error.details).toMatchObject({ field: 'body', max_depth: 64 })
      expect(ms).toBeLessThan(500)
    }
    const health = await t.get('/api/v1/public/health')
    expect(health.status).toBe(200)
  })

  it('accepts a body at the limit', async () => {
    const atLimit = `{"name":"ok","delay_ms":0,"x":${'['.repeat(63)}${']'.repeat(63)}}`
    const res = await t.as('deep').post('/api/v1/app/echo/items', undefined, {
      headers: { 'content-type': 'application/json' },
      raw: atLimit,
    })
    expect(res.status).toBe(201)
  })
})

describe('numbers in the query are plain decimals', () => {
  for (const [query, field] of [
    ['skip=0x10', 'skip'],
    ['skip=1e20', 'skip'],
    ['skip=100000000000000000000', 'skip'],
    ['skip=100001', 'skip'],
    ['limit=%2016', 'limit'],
    ['limit=16.0', 'limit'],
    ['limit=abc', 'limit'],
  ] as const) {
    it(`refuses ${query} with 422 naming ${field}`, async () => {
      const res = await t.as('pager').get(`/api/v1/app/echo/items?${query}`)
      expectContractError(res, 422, 'VALIDATION_ERROR')
      expect(res.body.error.details.field).toBe(field)
    })
  }

  it('still reads plain decimals', async () => {
    const res = await t.as('pager').get('/api/v1/app/echo/items?skip=20&limit=3')
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ skip: 20, limit: 3, total: 25 })
  })
})

describe('the edge: URL and header size', () => {
  it('answers a URL over MAX_URL_BYTES with 414 in the contract shape', async () => {
    const res = await t.as('edge').get(`/api/v1/app/echo/items?q=${'a'.repeat(64 * 1024)}`)
    expectContractError(res, 414, 'URI_TOO_LONG')
  })

  it('answers headers over MAX_HEADER_BYTES with 431 in the contract shape', async () => {
    const res = await t.get('/api/v1/public/echo/ping', { headers: { 'x-filler': 'a'.repeat(100 * 1024) } })
    expectContractError(res, 431, 'HEADERS_TOO_LARGE')
  })
})

describe('failed authentication is limited per address (RATE_LIMIT_AUTH)', () => {
  it('labels every refusal with X-RateLimit-* and turns the fourth into 429; a valid token still passes', async () => {
    const statuses: number[] = []
    for (let i = 0; i < 4; i++) {
      const res = await t.get('/api/v1/app/echo/me', { headers: { authorization: `Bearer osk_${'x'.repeat(40)}${i}` } })
      statuses.push(res.status)
      expect(res.headers.get('x-ratelimit-limit')).toBe('3')
      expect(res.headers.get('x-ratelimit-remaining')).toBeTruthy()
      if (res.status === 429) {
        expect(res.headers.get('retry-after')).toMatch(/^\d+$/)
        expect(res.body.error.code).toBe('RATE_LIMIT_EXCEEDED')
      }
    }
    expect(statuses).toEqual([401, 401, 401, 429])
    expect((await t.as('legit').get('/api/v1/app/echo/me')).status).toBe(200)
  })

  it('puts X-RateLimit-* on a 403 for the admin zone too', async () => {
    const res = await t.as('not-an-admin').get('/api/v1/admin/echo/ping')
    expect(res.status).toBe(403)
    expect(res.headers.get('x-ratelimit-limit')).toBeTruthy()
  })
})

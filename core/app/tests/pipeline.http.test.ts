/**
 * The request path as one list of stages (core/app/pipeline.ts): errors found before routing
 * are answered by the same mapper and headers as errors inside Elysia, without going through
 * Elysia; the rate-limit headers come from the rate-limit stage on every answer after it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { testApp, type TestApp } from '../../testing/index.ts'
import { createEchoPlugin } from '../../testing/fixtures/echo-plugin.ts'

let t: TestApp

beforeAll(async () => {
  t = await testApp({ plugins: [createEchoPlugin().plugin], env: { MAX_JSON_BODY_BYTES: '2048' } })
})
afterAll(() => t?.close())

const request = (path: string, init: RequestInit = {}) => new Request(`http://localhost${path}`, init)

/** The headers every answer of a v2 API route carries, errors included. */
function expectCommonHeaders(res: Response, requestId: string) {
  expect(res.headers.get('x-request-id')).toBe(requestId)
  expect(res.headers.get('x-api-version')).toBe('v2')
  expect(res.headers.get('x-api-latest-version')).toBe('v2')
  expect(res.headers.get('x-content-type-options')).toBe('nosniff')
  expect(res.headers.get('content-type')).toBe('application/json')
}

describe('errors before routing', () => {
  it('are answered synchronously, in the contract shape, with the headers of any answer', async () => {
    const cases: [Request, number, string][] = [
      [request('/api/v2/app/echo/me', { headers: { 'x-request-id': 'early-401' } }), 401, 'AUTHENTICATION_ERROR'],
      [
        request('/api/v2/public/echo/json', {
          method: 'POST',
          headers: { 'x-request-id': 'early-413', 'content-type': 'application/json', 'content-length': '4096' },
          body: 'x'.repeat(4096),
        }),
        413,
        'PAYLOAD_TOO_LARGE',
      ],
    ]
    for (const [req, status, code] of cases) {
      const id = req.headers.get('x-request-id')!
      const answer = t.app.serve(req, '127.0.0.1')
      // No detour through Elysia (which answers its errors from an async branch): a plain Response.
      expect(answer).toBeInstanceOf(Response)
      const res = answer as Response
      expect(`${id} ${res.status}`).toBe(`${id} ${status}`)
      expectCommonHeaders(res, id)
      const body = await res.json()
      expect(body.error.code).toBe(code)
      expect(body.meta.request_id).toBe(id)
    }
  })

  it('a token that fails verification (a promise: jose verifies asynchronously) gets the same answer', async () => {
    const res = await t.app.handle(
      request('/api/v2/app/echo/me', { headers: { 'x-request-id': 'early-401b', authorization: 'Bearer not-a-jwt' } }),
    )
    expect(res.status).toBe(401)
    expectCommonHeaders(res, 'early-401b')
    expect((await res.json()).error.code).toBe('AUTHENTICATION_ERROR')
  })

  it('an unknown version is 400 in the v1 shape, with a request id', async () => {
    const answer = t.app.serve(
      request('/api/v9/public/echo/ping', { headers: { 'x-request-id': 'early-400' } }),
      '127.0.0.1',
    )
    expect(answer).toBeInstanceOf(Response)
    const res = answer as Response
    expect(res.status).toBe(400)
    expect(res.headers.get('x-request-id')).toBe('early-400')
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    const body = await res.json()
    expect(body.error.code).toBe('BAD_REQUEST')
    expect(body.meta).toBeUndefined()
  })

  it('match the headers of an error found inside Elysia (404, 422)', async () => {
    const token = await t.token('pipeline-user')
    const notFound = await t.app.handle(
      request('/api/v2/app/echo/nowhere', {
        headers: { authorization: `Bearer ${token}`, 'x-request-id': 'late-404' },
      }),
    )
    expect(notFound.status).toBe(404)
    expectCommonHeaders(notFound, 'late-404')
    const invalid = await t.app.handle(
      request('/api/v2/public/echo/json', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'late-422' },
        body: '{"name":""}',
      }),
    )
    expect(invalid.status).toBe(422)
    expectCommonHeaders(invalid, 'late-422')
  })
})

describe('rate-limit headers', () => {
  it('are on successes and on errors found after the rate decision', async () => {
    const token = await t.token('pipeline-rate')
    const ok = await t.app.handle(request('/api/v2/app/echo/me', { headers: { authorization: `Bearer ${token}` } }))
    expect(ok.status).toBe(200)
    const limit = ok.headers.get('x-ratelimit-limit')
    expect(Number(limit)).toBeGreaterThan(0)
    const remaining = Number(ok.headers.get('x-ratelimit-remaining'))
    const missing = await t.app.handle(
      request('/api/v2/app/echo/nowhere', { headers: { authorization: `Bearer ${token}` } }),
    )
    expect(missing.status).toBe(404)
    expect(missing.headers.get('x-ratelimit-limit')).toBe(limit)
    expect(Number(missing.headers.get('x-ratelimit-remaining'))).toBe(remaining - 1)
  })

  it('are on a refused credential too: it counts against the address in the auth class', async () => {
    const res = await t.app.handle(request('/api/v2/app/echo/me'))
    expect(res.status).toBe(401)
    expect(res.headers.get('x-ratelimit-limit')).toBe('100000')
  })
})

describe('the runner', () => {
  it('answers a cached authenticated GET with a synchronous handler without a promise', async () => {
    const token = await t.token('pipeline-sync')
    const get = () => request('/api/v2/app/echo/me', { headers: { authorization: `Bearer ${token}` } })
    expect((await t.app.handle(get())).status).toBe(200) // verifies the token, provisions the user
    const answer = t.app.serve(get(), '127.0.0.1')
    expect(answer).toBeInstanceOf(Response)
    const res = answer as Response
    expect(res.status).toBe(200)
    expect((await res.json()).data.id).toBe('pipeline-sync')
  })

  it('answers HEAD like GET without a body', async () => {
    const get = await t.app.handle(request('/api/v2/public/echo/ping'))
    const head = await t.app.handle(request('/api/v2/public/echo/ping', { method: 'HEAD' }))
    expect(head.status).toBe(200)
    expect(await head.text()).toBe('')
    expect(Number(head.headers.get('content-length'))).toBe((await get.text()).length)
  })
})

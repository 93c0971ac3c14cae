import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { testApp, type TestApp } from '../../testing/index.ts'
import { createEchoPlugin } from '../../testing/fixtures/echo-plugin.ts'

let t: TestApp

beforeAll(async () => {
  t = await testApp({
    plugins: [createEchoPlugin().plugin],
    env: {
      API_DEPRECATED_VERSIONS: 'v1',
      API_DEPRECATION_V1: '2026-12-01T00:00:00Z',
      API_SUNSET_V1: '2027-06-30T00:00:00Z',
      CORS_ORIGINS: 'https://app.example.com,https://admin.example.com',
      NODE_ENV: 'production',
    },
  })
})
afterAll(() => t?.close())

describe('deprecation', () => {
  it('marks a deprecated version with RFC 9745 / 8594 headers', async () => {
    const res = await t.get('/api/v1/public/health')
    expect(res.headers.get('deprecation')).toBe(`@${Date.UTC(2026, 11, 1) / 1000}`)
    expect(res.headers.get('sunset')).toBe('Wed, 30 Jun 2027 00:00:00 GMT')
    expect(res.headers.get('link')).toBe('</api/v2/>; rel="successor-version"')
    expect(res.headers.get('x-deprecation-notice')).toContain('v1 is deprecated')
  })

  it('leaves the current version unmarked, also on errors', async () => {
    const res = await t.get('/api/v2/public/health')
    expect(res.headers.get('deprecation')).toBeNull()
    const err = await t.get('/api/v1/public/missing')
    expect(err.status).toBe(404)
    expect(err.headers.get('deprecation')).toBe(`@${Date.UTC(2026, 11, 1) / 1000}`)
  })

  it('adds HSTS in production', async () => {
    const res = await t.get('/api/v2/public/health')
    expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains')
  })
})

describe('cors', () => {
  it('echoes an allowed origin exactly', async () => {
    const res = await t.get('/api/v1/public/health', { headers: { origin: 'https://app.example.com' } })
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example.com')
    expect(res.headers.get('access-control-allow-credentials')).toBe('true')
    expect(res.headers.get('access-control-expose-headers')).toContain('X-Request-ID')
    expect(res.headers.get('vary')).toContain('Origin')
  })

  it('gives other origins nothing', async () => {
    const res = await t.get('/api/v1/public/health', { headers: { origin: 'https://evil.example.com' } })
    expect(res.headers.get('access-control-allow-origin')).toBeNull()
    expect(res.headers.get('access-control-allow-credentials')).toBeNull()
  })

  it('answers preflights with explicit methods and headers', async () => {
    const res = await t.request('OPTIONS', '/api/v1/app/echo/items', {
      headers: {
        origin: 'https://admin.example.com',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type',
      },
    })
    expect(res.status).toBe(204)
    expect(res.headers.get('access-control-allow-origin')).toBe('https://admin.example.com')
    expect(res.headers.get('access-control-allow-methods')).toBe('GET, POST, PUT, PATCH, DELETE, OPTIONS')
    expect(res.headers.get('access-control-allow-headers')).toContain('Authorization')
    expect(res.headers.get('access-control-allow-headers')).toContain('Idempotency-Key')
    expect(res.headers.get('access-control-allow-headers')).not.toContain('undefined')
    const foreign = await t.request('OPTIONS', '/api/v1/app/echo/items', {
      headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'POST' },
    })
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull()
    expect(foreign.headers.get('access-control-allow-methods')).toBeNull()
  })
})

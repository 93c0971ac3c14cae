import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { testApp, type TestApp } from '../../testing/index.ts'
import { createEchoPlugin } from '../../testing/fixtures/echo-plugin.ts'

describe('rate limits (in-process)', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await testApp({
      plugins: [createEchoPlugin().plugin],
      env: { RATE_LIMIT_DEFAULT: '3/minute', TRUSTED_PROXIES: '10.0.0.0/8' },
    })
  })
  afterAll(() => t?.close())

  it('trips at limit+1 with Retry-After and details.retry_after', async () => {
    const remaining: string[] = []
    for (let i = 0; i < 3; i++) {
      const res = await t.get('/api/v1/public/echo/ping', { ip: '192.0.2.1' })
      expect(res.status).toBe(200)
      expect(res.headers.get('x-ratelimit-limit')).toBe('3')
      remaining.push(res.headers.get('x-ratelimit-remaining')!)
    }
    expect(remaining).toEqual(['2', '1', '0'])
    const res = await t.get('/api/v1/public/echo/ping', { ip: '192.0.2.1' })
    expect(res.status).toBe(429)
    expect(res.body.error.code).toBe('RATE_LIMIT_EXCEEDED')
    const retry = Number(res.headers.get('retry-after'))
    expect(retry).toBeGreaterThan(0)
    expect(retry).toBeLessThanOrEqual(60)
    expect(res.body.error.details.retry_after).toBe(retry)
    expect(Number(res.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000)
  })

  it('counts per user when authenticated, whatever the IP', async () => {
    for (let i = 0; i < 3; i++)
      expect((await t.as('rl-user').get('/api/v1/app/echo/me', { ip: `192.0.2.${10 + i}` })).status).toBe(200)
    expect((await t.as('rl-user').get('/api/v1/app/echo/me', { ip: '192.0.2.99' })).status).toBe(429)
    // Another user from the same IP has their own budget.
    expect((await t.as('rl-other').get('/api/v1/app/echo/me', { ip: '192.0.2.10' })).status).toBe(200)
  })

  it('ignores X-Forwarded-For from an untrusted peer', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await t.get('/api/v1/public/echo/ping', {
        ip: '192.0.2.50',
        headers: { 'x-forwarded-for': `198.51.100.${i}` },
      })
      expect(res.status).toBe(200)
    }
    const spoofed = await t.get('/api/v1/public/echo/ping', {
      ip: '192.0.2.50',
      headers: { 'x-forwarded-for': '198.51.100.77' },
    })
    expect(spoofed.status).toBe(429)
  })

  it('uses the right-most untrusted hop behind a trusted proxy, so a spoofed left hop does not help', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await t.get('/api/v1/public/echo/ping', {
        ip: '10.0.0.5',
        headers: { 'x-forwarded-for': `1.2.3.${i}, 203.0.113.9, 10.0.0.7` },
      })
      expect(res.status).toBe(200)
    }
    const res = await t.get('/api/v1/public/echo/ping', {
      ip: '10.0.0.5',
      headers: { 'x-forwarded-for': '9.9.9.9, 203.0.113.9' },
    })
    expect(res.status).toBe(429)
    // A different real client behind the same proxy is counted apart.
    const other = await t.get('/api/v1/public/echo/ping', {
      ip: '10.0.0.5',
      headers: { 'x-forwarded-for': '203.0.113.10' },
    })
    expect(other.status).toBe(200)
  })

  it('never limits health, readiness or metrics', async () => {
    for (let i = 0; i < 6; i++) {
      for (const p of ['/api/v1/public/health', '/api/v1/public/health/ready', '/api/v1/public/metrics']) {
        const res = await t.get(p, { ip: '192.0.2.200' })
        expect(res.status).toBe(200)
        expect(res.headers.get('x-ratelimit-limit')).toBeNull()
      }
    }
  })
})

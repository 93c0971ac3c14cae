import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { testApp, type TestApp } from '../../testing/index.ts'
import { createEchoPlugin } from '../../testing/fixtures/echo-plugin.ts'

const echo = createEchoPlugin()
let t: TestApp

beforeAll(async () => {
  t = await testApp({ plugins: [echo.plugin] })
})
afterAll(() => t?.close())

describe('idempotency', () => {
  it('replays the stored response without running the handler again', async () => {
    const before = echo.calls.create
    const first = await t
      .as('alice')
      .post('/api/v1/app/echo/items', { name: 'A' }, { headers: { 'idempotency-key': 'k-replay' } })
    expect(first.status).toBe(201)
    const again = await t
      .as('alice')
      .post('/api/v1/app/echo/items', { name: 'A' }, { headers: { 'idempotency-key': 'k-replay' } })
    expect(again.status).toBe(201)
    expect(again.body).toEqual(first.body)
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    expect(echo.calls.create).toBe(before + 1)
  })

  it('keeps keys per user', async () => {
    const before = echo.calls.create
    await t.as('alice').post('/api/v1/app/echo/items', { name: 'B' }, { headers: { 'idempotency-key': 'shared' } })
    const bob = await t
      .as('bob')
      .post('/api/v1/app/echo/items', { name: 'B' }, { headers: { 'idempotency-key': 'shared' } })
    expect(bob.status).toBe(201)
    expect(bob.headers.get('idempotent-replayed')).toBeNull()
    expect(echo.calls.create).toBe(before + 2)
  })

  it('answers 409 when the key comes back with another body', async () => {
    await t.as('alice').post('/api/v1/app/echo/items', { name: 'C' }, { headers: { 'idempotency-key': 'k-body' } })
    const res = await t
      .as('alice')
      .post('/api/v1/app/echo/items', { name: 'D' }, { headers: { 'idempotency-key': 'k-body' } })
    expect(res.status).toBe(409)
    expect(res.body.error.code).toBe('CONFLICT')
  })

  it('answers 409 to a duplicate sent while the first is still running', async () => {
    const before = echo.calls.create
    const slow = t
      .as('alice')
      .post('/api/v1/app/echo/items', { name: 'E', delay_ms: 400 }, { headers: { 'idempotency-key': 'k-race' } })
    await new Promise((r) => setTimeout(r, 100))
    const dup = await t
      .as('alice')
      .post('/api/v1/app/echo/items', { name: 'E', delay_ms: 400 }, { headers: { 'idempotency-key': 'k-race' } })
    expect(dup.status).toBe(409)
    expect((await slow).status).toBe(201)
    expect(echo.calls.create).toBe(before + 1)
  })

  it('does not store a validation failure, so a corrected retry right after it runs', async () => {
    for (let i = 0; i < 10; i++) {
      const headers = { 'idempotency-key': `k-invalid-${i}` }
      const bad = await t.as('alice').post('/api/v1/app/echo/items', { name: '' }, { headers })
      expect(bad.status).toBe(422)
      const good = await t.as('alice').post('/api/v1/app/echo/items', { name: 'F' }, { headers })
      expect(good.status).toBe(201)
    }
  })

  it('replays v2 responses byte for byte', async () => {
    const first = await t
      .as('alice')
      .post('/api/v2/app/echo/items', { name: 'G' }, { headers: { 'idempotency-key': 'k-v2' } })
    const again = await t
      .as('alice')
      .post('/api/v2/app/echo/items', { name: 'G' }, { headers: { 'idempotency-key': 'k-v2' } })
    expect(again.text).toBe(first.text)
  })

  it('refuses an invalid key with 422', async () => {
    const res = await t
      .as('alice')
      .post('/api/v1/app/echo/items', { name: 'H' }, { headers: { 'idempotency-key': 'x'.repeat(300) } })
    expect(res.status).toBe(422)
  })
})

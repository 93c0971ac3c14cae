/**
 * Requests refused before Elysia routes them (401 from authentication, 429 from the rate limit)
 * are counted, logged and traced under their route template; only a path no route matches is
 * `unmatched` (docs/observability.md#prometheus-metrics).
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { testApp, type TestApp } from '../../testing/index.ts'
import { createEchoPlugin } from '../../testing/fixtures/echo-plugin.ts'
import { createLogger } from '../logger.ts'
import { createTracing } from '../tracing.ts'

const TEMPLATE = '/api/v1/app/echo/items/:id'
const lines: Record<string, unknown>[] = []
const tracing = createTracing({ enabled: true, exporter: 'memory' })
let t: TestApp

beforeAll(async () => {
  t = await testApp({
    plugins: [createEchoPlugin().plugin],
    tracing,
    logger: createLogger({ level: 'info', write: (l) => lines.push(JSON.parse(l)) }),
    env: { RATE_LIMIT_DEFAULT: '2/minute' },
  })
})
afterAll(async () => {
  await t?.close()
  await tracing.shutdown()
})

/** `omnistack_http_requests_total` for one route and status, 0 when the series does not exist. */
async function count(route: string, status: number, method = 'GET'): Promise<number> {
  const res = await t.get('/api/v1/public/metrics')
  for (const line of res.text.split('\n')) {
    if (!line.startsWith('omnistack_http_requests_total{')) continue
    const labels = line.slice(line.indexOf('{') + 1, line.indexOf('}'))
    if (
      labels.includes(`route="${route}"`) &&
      labels.includes(`status="${status}"`) &&
      labels.includes(`method="${method}"`)
    )
      return Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return 0
}

const logOf = (requestId: string) => lines.find((l) => l.request_id === requestId && l.message === 'request completed')
const spanOf = (requestId: string) => {
  const line = logOf(requestId)!
  return tracing.memoryExporter!.getFinishedSpans().find((s) => s.spanContext().spanId === line.span_id)!
}

describe('route labels of refused requests', () => {
  it('counts a 401 on a known route under its template', async () => {
    const before = await count(TEMPLATE, 401)
    const res = await t.get('/api/v1/app/echo/items/item-401', { headers: { 'x-request-id': 'label-401' } })
    expect(res.status).toBe(401)
    expect(await count(TEMPLATE, 401)).toBe(before + 1)
    expect(logOf('label-401')).toMatchObject({ route: TEMPLATE, status: 401 })
    expect(spanOf('label-401').name).toBe(`GET ${TEMPLATE}`)
    expect(spanOf('label-401').attributes['http.route']).toBe(TEMPLATE)
  })

  it('counts a 429 under its template', async () => {
    const user = t.as(`labels-${crypto.randomUUID()}`)
    for (let i = 0; i < 2; i++) expect((await user.get(`/api/v1/app/echo/items/item-${i + 1}`)).status).toBe(200)
    const before = await count(TEMPLATE, 429)
    const res = await user.get('/api/v1/app/echo/items/item-3', { headers: { 'x-request-id': 'label-429' } })
    expect(res.status).toBe(429)
    expect(await count(TEMPLATE, 429)).toBe(before + 1)
    expect(logOf('label-429')).toMatchObject({ route: TEMPLATE, status: 429 })
    expect(spanOf('label-429').name).toBe(`GET ${TEMPLATE}`)
  })

  it('keeps the template on an unversioned path and a trailing slash', async () => {
    const res = await t.get('/api/app/echo/items/item-9/', { headers: { 'x-request-id': 'label-loose' } })
    expect(res.status).toBe(401)
    expect(logOf('label-loose')).toMatchObject({ route: TEMPLATE })
  })

  it('leaves a path no route matches `unmatched`, refused or not', async () => {
    const refused = await t.get('/api/v1/app/nothing/here', { headers: { 'x-request-id': 'label-unknown-401' } })
    expect(refused.status).toBe(401)
    expect(logOf('label-unknown-401')).toMatchObject({ route: 'unmatched' })
    const missing = await t
      .as(`labels-${crypto.randomUUID()}`)
      .get('/api/v1/app/nothing/here', { headers: { 'x-request-id': 'label-unknown-404' } })
    expect(missing.status).toBe(404)
    expect(logOf('label-unknown-404')).toMatchObject({ route: 'unmatched' })
    // A known path with a method it does not serve is unknown too.
    const wrongMethod = await t.request('PUT', '/api/v1/app/echo/items/item-1', {
      headers: { 'x-request-id': 'label-put' },
    })
    expect(wrongMethod.status).toBe(401)
    expect(logOf('label-put')).toMatchObject({ route: 'unmatched' })
    const metrics = (await t.get('/api/v1/public/metrics')).text
    expect(metrics).not.toContain('nothing/here')
  })
})

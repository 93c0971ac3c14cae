import { SpanKind } from '@opentelemetry/api'
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { createLogger } from '../logger.ts'
import { createTracing } from '../tracing.ts'
import { testApp, type TestApp } from '../../testing/index.ts'
import { createEchoPlugin } from '../../testing/fixtures/echo-plugin.ts'

const lines: Record<string, unknown>[] = []
const tracing = createTracing({ enabled: true, exporter: 'memory', serviceName: 'omnistack-test' })
let t: TestApp

beforeAll(async () => {
  t = await testApp({
    plugins: [createEchoPlugin().plugin],
    tracing,
    logger: createLogger({ level: 'info', write: (l) => lines.push(JSON.parse(l)) }),
  })
})
afterAll(() => t?.close())

describe('observability', () => {
  it('continues the caller trace from traceparent and answers traceresponse', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736'
    const parent = '00f067aa0ba902b7'
    const res = await t.as('obs-user').get('/api/v1/app/echo/items/item-2', {
      headers: { traceparent: `00-${traceId}-${parent}-01` },
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('traceresponse')).toStartWith(`00-${traceId}-`)
    await Bun.sleep(20) // spans end in onAfterResponse, after the body is handed over
    const spans = tracing.memoryExporter!.getFinishedSpans()
    // The request's SERVER span (its database queries are CLIENT spans of the same trace).
    const span = spans.find((s) => s.spanContext().traceId === traceId && s.kind === SpanKind.SERVER)
    expect(span).toBeDefined()
    expect(span!.parentSpanContext?.spanId).toBe(parent)
    expect(span!.name).toBe('GET /api/v1/app/echo/items/:id')
  })

  it('exposes a latency histogram by route template, not raw path', async () => {
    await t.as('obs-user').get('/api/v1/app/echo/items/item-5')
    await Bun.sleep(20)
    const res = await t.get('/api/v1/public/metrics')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/plain')
    expect(res.text).toContain('omnistack_http_request_duration_seconds_bucket')
    expect(res.text).toMatch(/omnistack_http_requests_total\{[^}]*route="\/api\/v1\/app\/echo\/items\/:id"/)
    expect(res.text).not.toContain('item-5')
  })

  it('logs each request with request id, trace id, user, route, status and duration', async () => {
    lines.length = 0
    const res = await t.as('obs-user').get('/api/v1/app/echo/me', { headers: { 'x-request-id': 'log-check-1' } })
    expect(res.status).toBe(200)
    await Bun.sleep(20)
    const line = lines.find((l) => l.request_id === 'log-check-1')
    expect(line).toMatchObject({
      message: 'request completed',
      user_id: 'obs-user',
      route: '/api/v1/app/echo/me',
      status: 200,
      method: 'GET',
    })
    expect(typeof line!.duration_ms).toBe('number')
    expect(line!.trace_id).toMatch(/^[0-9a-f]{32}$/)
  })

  it('never writes the bearer token to the logs', async () => {
    lines.length = 0
    const token = await t.token('obs-user')
    await t.get('/api/v1/app/echo/boom', { headers: { authorization: `Bearer ${token}` } })
    await Bun.sleep(20)
    expect(JSON.stringify(lines)).not.toContain(token)
    expect(lines.some((l) => l.level === 'ERROR' && l.message === 'unhandled error')).toBe(true)
  })
})

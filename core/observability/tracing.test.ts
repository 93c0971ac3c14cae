/** Request spans: W3C trace context in and out, semantic attributes, disabled mode, exporters over HTTP. */
import { SpanKind, SpanStatusCode } from '@opentelemetry/api'
import { afterAll, describe, expect, it } from 'bun:test'
import { Elysia } from 'elysia'
import { createLogger } from './logger.ts'
import { createTracing, enrich, otlpTracesUrl } from './tracing.ts'

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'
const CALLER = '00f067aa0ba902b7'
const traceparent = `00-${TRACE}-${CALLER}-01`
const TRACERESPONSE = /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/

describe('tracing (enabled, memory exporter)', () => {
  const tracing = createTracing({ enabled: true, exporter: 'memory', serviceName: 'svc-test' })
  afterAll(() => tracing.shutdown())

  it('continues the caller trace and exports a SERVER span named after the route', () => {
    const headers = new Headers({ traceparent, tracestate: 'vendor=value', 'user-agent': 'test-agent' })
    const span = tracing.startRequestSpan('GET', '/api/v1/app/projects/42', headers)
    expect(span.traceId).toBe(TRACE)
    expect(span.spanId).toMatch(/^[0-9a-f]{16}$/)
    expect(span.spanId).not.toBe(CALLER)
    span.setRoute('/api/v1/app/projects/:id')
    span.setAttribute('omnistack.plugin', 'projects')
    span.end(200)
    span.end(500) // a second end is ignored

    const [done, ...rest] = tracing.memoryExporter!.getFinishedSpans()
    expect(rest).toHaveLength(0)
    expect(done!.name).toBe('GET /api/v1/app/projects/:id')
    expect(done!.kind).toBe(SpanKind.SERVER)
    expect(done!.spanContext().traceId).toBe(TRACE)
    expect(done!.parentSpanContext?.spanId).toBe(CALLER)
    expect(done!.parentSpanContext?.traceState?.get('vendor')).toBe('value')
    expect(done!.attributes).toMatchObject({
      'http.request.method': 'GET',
      'http.route': '/api/v1/app/projects/:id',
      'http.response.status_code': 200,
      'url.path': '/api/v1/app/projects/42',
      'user_agent.original': 'test-agent',
      'omnistack.plugin': 'projects',
    })
    expect(done!.status.code).toBe(SpanStatusCode.UNSET)
    expect(done!.resource.attributes['service.name']).toBe('svc-test')
    expect(span.traceresponse()).toBe(`00-${TRACE}-${span.spanId}-01`)
    tracing.memoryExporter!.reset()
  })

  it('starts a new trace without traceparent, ignores a malformed one, marks 5xx as ERROR', () => {
    const fresh = tracing.startRequestSpan('POST', '/x', new Headers({ traceparent: 'garbage' }))
    expect(fresh.traceId).toMatch(/^[0-9a-f]{32}$/)
    expect(fresh.traceId).not.toBe(TRACE)
    expect(fresh.traceresponse()).toMatch(TRACERESPONSE)
    fresh.setRoute('unmatched')
    fresh.end(503, new Error('database down'))
    const [done] = tracing.memoryExporter!.getFinishedSpans()
    expect(done!.name).toBe('POST')
    expect(done!.parentSpanContext).toBeUndefined()
    expect(done!.attributes['http.route']).toBeUndefined()
    expect(done!.status.code).toBe(SpanStatusCode.ERROR)
    expect(done!.attributes['error.type']).toBe('Error')
    expect(done!.events.map((e) => e.name)).toContain('exception')
    tracing.memoryExporter!.reset()
  })

  it('a 4xx is not an error on a server span', () => {
    const span = tracing.startRequestSpan('GET', '/nope', new Headers())
    span.end(404)
    expect(tracing.memoryExporter!.getFinishedSpans()[0]!.status.code).toBe(SpanStatusCode.UNSET)
    tracing.memoryExporter!.reset()
  })

  it('run() keeps the span active across awaits and through Elysia, so log lines carry trace ids', async () => {
    const lines: string[] = []
    const logger = createLogger({ write: (l) => lines.push(l), enrich })
    const app = new Elysia().get('/work', async () => {
      await new Promise((r) => setTimeout(r, 5))
      await Promise.resolve()
      logger.info('inside handler')
      return enrich() ?? {}
    })
    const span = tracing.startRequestSpan('GET', '/work', new Headers({ traceparent }))
    const res = await span.run(() => app.handle(new Request('http://localhost/work')))
    expect(await res.json()).toEqual({ trace_id: TRACE, span_id: span.spanId })
    expect(JSON.parse(lines[0]!)).toMatchObject({ trace_id: TRACE, span_id: span.spanId })
    expect(enrich()).toBeUndefined()
    span.end(200)
    tracing.memoryExporter!.reset()
  })

  it('keeps each app on its own provider', async () => {
    const other = createTracing({ enabled: true, exporter: 'memory' })
    other.startRequestSpan('GET', '/a', new Headers()).end(200)
    expect(other.memoryExporter!.getFinishedSpans()).toHaveLength(1)
    expect(tracing.memoryExporter!.getFinishedSpans()).toHaveLength(0)
    await other.shutdown()
    await other.shutdown()
  })
})

describe('tracing (disabled)', () => {
  const tracing = createTracing({ enabled: false })

  it('keeps the caller trace id without any SDK', () => {
    const span = tracing.startRequestSpan('GET', '/x', new Headers({ traceparent }))
    expect(tracing.memoryExporter).toBeUndefined()
    expect(span.traceId).toBe(TRACE)
    expect(span.spanId).toMatch(/^[0-9a-f]{16}$/)
    expect(span.spanId).not.toBe(CALLER)
    expect(span.traceresponse()).toBe(`00-${TRACE}-${span.spanId}-00`)
    expect(span.run(() => 7)).toBe(7)
    span.setRoute('/x')
    span.end(500, new Error('ignored'))
  })

  it('gives random ids without a traceparent, cheaply', () => {
    const a = tracing.startRequestSpan('GET', '/x', new Headers())
    const b = tracing.startRequestSpan('GET', '/x', new Headers())
    expect(a.traceresponse()).toMatch(TRACERESPONSE)
    expect(a.traceId).not.toBe(b.traceId)
    const headers = new Headers({ traceparent })
    const n = 100_000
    const t = performance.now()
    for (let i = 0; i < n; i++) tracing.startRequestSpan('GET', '/x', headers).end(200)
    // Generous bound for slow CI; a few hundred nanoseconds here.
    expect(((performance.now() - t) * 1000) / n).toBeLessThan(10)
  })
})

describe('tracing exporters', () => {
  it('normalises the OTLP endpoint like OTEL_EXPORTER_OTLP_ENDPOINT', () => {
    expect(otlpTracesUrl()).toBe('http://localhost:4318/v1/traces')
    expect(otlpTracesUrl('http://collector:4318')).toBe('http://collector:4318/v1/traces')
    expect(otlpTracesUrl('http://tempo:4318/custom/path')).toBe('http://tempo:4318/custom/path')
  })

  for (const kind of ['otlp', 'zipkin'] as const) {
    it(`sends spans to a ${kind} endpoint on shutdown`, async () => {
      const received: { path: string; body: string }[] = []
      const server = Bun.serve({
        port: 0,
        hostname: '127.0.0.1',
        async fetch(req) {
          received.push({ path: new URL(req.url).pathname, body: await req.text() })
          return new Response(kind === 'otlp' ? '{}' : null, { status: kind === 'otlp' ? 200 : 202 })
        },
      })
      try {
        const base = `http://127.0.0.1:${server.port}`
        const tracing = createTracing({
          enabled: true,
          exporter: kind,
          otlpEndpoint: base,
          zipkinEndpoint: `${base}/api/v2/spans`,
          serviceName: 'svc-export',
        })
        const span = tracing.startRequestSpan('GET', '/api/v1/public/health', new Headers({ traceparent }))
        span.setRoute('/api/v1/public/health')
        span.end(200)
        await tracing.shutdown()
        expect(received).toHaveLength(1)
        expect(received[0]!.path).toBe(kind === 'otlp' ? '/v1/traces' : '/api/v2/spans')
        expect(received[0]!.body).toContain(kind === 'otlp' ? 'svc-export' : TRACE)
        if (kind === 'zipkin') expect(received[0]!.body).toContain('"parentId":"' + CALLER + '"')
      } finally {
        server.stop(true)
      }
    })
  }
})

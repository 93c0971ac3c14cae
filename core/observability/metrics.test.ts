/** Prometheus metrics: request series by route template, plugin counters and gauges, per-app registries. */
import { describe, expect, it } from 'bun:test'
import { createMetrics } from './metrics.ts'

const line = (text: string, start: string) => text.split('\n').find((l) => l.startsWith(start))

describe('metrics', () => {
  it('counts requests and observes durations by method, route template and status', async () => {
    const m = createMetrics({ defaultMetrics: false })
    m.observeRequest('GET', '/api/v1/app/projects/:id', 200, 0.004)
    m.observeRequest('GET', '/api/v1/app/projects/:id', 200, 0.2)
    m.observeRequest('POST', 'unmatched', 404, 0.0005)
    const text = await m.render()
    const labels = 'method="GET",route="/api/v1/app/projects/:id",status="200"'
    expect(line(text, `omnistack_http_requests_total{${labels}}`)).toEndWith(' 2')
    expect(line(text, 'omnistack_http_requests_total{method="POST",route="unmatched",status="404"}')).toEndWith(' 1')
    expect(line(text, `omnistack_http_request_duration_seconds_count{${labels}}`)).toEndWith(' 2')
    expect(line(text, `omnistack_http_request_duration_seconds_bucket{le="0.005",${labels}}`)).toEndWith(' 1')
    expect(line(text, `omnistack_http_request_duration_seconds_bucket{le="0.25",${labels}}`)).toEndWith(' 2')
    const sum = line(text, `omnistack_http_request_duration_seconds_sum{${labels}}`)!
    expect(Number(sum.split(' ')[1])).toBeCloseTo(0.204, 6)
    expect(m.contentType).toContain('text/plain')
  })

  it('folds unknown HTTP methods into _OTHER (as OTel semconv does) so clients cannot grow the series', async () => {
    const m = createMetrics({ defaultMetrics: false })
    for (let i = 0; i < 50; i++) m.observeRequest(`X${i}`, 'unmatched', 405, 0.001)
    const text = await m.render()
    expect(line(text, 'omnistack_http_requests_total{method="_OTHER",route="unmatched",status="405"}')).toEndWith(' 50')
    expect(text).not.toContain('method="X1"')
  })

  it('keeps each app in its own registry', async () => {
    const a = createMetrics({ defaultMetrics: false })
    const b = createMetrics({ defaultMetrics: false })
    a.observeRequest('GET', '/a', 200, 0.01)
    a.counter('jobs_total', 'jobs').inc()
    b.counter('jobs_total', 'jobs').inc(undefined, 5)
    expect(await b.render()).not.toContain('route="/a"')
    expect(line(await a.render(), 'omnistack_jobs_total ')).toBe('omnistack_jobs_total 1')
    expect(line(await b.render(), 'omnistack_jobs_total ')).toBe('omnistack_jobs_total 5')
  })

  it('gives plugins prefixed counters that are idempotent per name', async () => {
    const m = createMetrics({ defaultMetrics: false })
    const c1 = m.counter('ai_tokens_total', 'AI tokens', ['model'])
    const c2 = m.counter('ai_tokens_total', 'AI tokens', ['model'])
    expect(c1).toBe(c2)
    c1.inc({ model: 'gpt' }, 10)
    c2.inc({ model: 'gpt' }, 5)
    expect(line(await m.render(), 'omnistack_ai_tokens_total{model="gpt"}')).toEndWith(' 15')
    expect(() => m.counter('ai_tokens_total', 'AI tokens', ['provider'])).toThrow(/already a counter/)
    expect(() => m.gauge('ai_tokens_total', 'AI tokens', ['model'])).toThrow(/already a counter/)
  })

  it('reads collected gauges at scrape time and survives a failing collect', async () => {
    const m = createMetrics({ defaultMetrics: false })
    let depth = 3
    m.gauge('queue_depth', 'jobs waiting', [], async () => depth)
    let fail = false
    m.gauge('flaky', 'sometimes throws', [], () => {
      if (fail) throw new Error('down')
      return 7
    })
    const sessions = m.gauge('ws_connections', 'open sockets', ['kind'])
    sessions.set(4, { kind: 'user' })
    sessions.inc({ kind: 'user' })
    sessions.dec({ kind: 'user' }, 2)
    let text = await m.render()
    expect(line(text, 'omnistack_queue_depth ')).toBe('omnistack_queue_depth 3')
    expect(line(text, 'omnistack_ws_connections{kind="user"}')).toEndWith(' 3')
    depth = 9
    fail = true
    text = await m.render()
    expect(line(text, 'omnistack_queue_depth ')).toBe('omnistack_queue_depth 9')
    expect(line(text, 'omnistack_flaky ')).toBe('omnistack_flaky 7')
  })

  it('includes process metrics by default, under the prefix', async () => {
    const text = await createMetrics({ prefix: 'app_' }).render()
    expect(text).toContain('app_process_cpu_user_seconds_total')
    expect(text).toContain('app_http_requests_total')
  })

  it('keeps observeRequest cheap on the hot path', () => {
    const m = createMetrics({ defaultMetrics: false })
    const routes = ['/api/v1/app/projects/:id', '/api/v1/public/health', '/api/v2/app/users/me']
    const n = 200_000
    for (let i = 0; i < 1000; i++) m.observeRequest('GET', routes[i % 3]!, 200, 0.002)
    const t = performance.now()
    for (let i = 0; i < n; i++) m.observeRequest('GET', routes[i % 3]!, 200, 0.002)
    const micros = ((performance.now() - t) * 1000) / n
    // Generous bound for slow CI machines; about 0.6 µs here.
    expect(micros).toBeLessThan(10)
  })
})

/** With tracing on, each Stripe API call of a request is a CLIENT span under it and carries its traceparent (docs/observability.md#child-spans). */
import { SpanKind } from '@opentelemetry/api'
import { afterAll, beforeAll, expect, it } from 'bun:test'
import { createTracing } from '../../../core/observability/index.ts'
import { testApp, type TestApp } from '../../../core/testing/index.ts'
import { startFakeStripe, type FakeStripe } from './fakes/stripe-api.ts'
import { PLUGINS, stripeEnv } from './support.ts'

const TRACE = '0af7651916cd43dd8448eb211c80319c'
const tracing = createTracing({ enabled: true, exporter: 'memory' })
let fake: FakeStripe
let t: TestApp

beforeAll(async () => {
  fake = startFakeStripe()
  t = await testApp({ plugins: PLUGINS, env: stripeEnv(fake), tracing })
})
afterAll(async () => {
  await t?.close()
  await tracing.shutdown()
  fake?.close()
})

it('traces the Stripe calls of a checkout under the request span', async () => {
  const res = await t.as('span-user').post(
    '/api/v1/app/billing/checkout',
    {
      plan: 'monthly',
      success_url: 'https://app.example.com/billing/success',
      cancel_url: 'https://app.example.com/billing/cancel',
    },
    { headers: { traceparent: `00-${TRACE}-b7ad6b7169203331-01` } },
  )
  expect(res.status).toBe(200)
  const spans = tracing.memoryExporter!.getFinishedSpans().filter((s) => s.spanContext().traceId === TRACE)
  const server = spans.find((s) => s.kind === SpanKind.SERVER)!
  const calls = spans.filter((s) => s.kind === SpanKind.CLIENT && s.attributes['url.full'] !== undefined)
  const paths = calls.map((s) => new URL(String(s.attributes['url.full'])).pathname)
  expect(paths).toEqual(['/v1/customers', '/v1/checkout/sessions'])
  for (const call of calls) {
    expect(call.name).toBe('POST')
    expect(call.parentSpanContext?.spanId).toBe(server.spanContext().spanId)
    expect(call.attributes['http.response.status_code']).toBe(200)
    expect(call.attributes['server.address']).toBe('127.0.0.1')
    // The request the fake received names this span as its parent.
    const seen = fake.requests.find((r) => r.headers.traceparent?.includes(call.spanContext().spanId))
    expect(seen?.headers.traceparent).toBe(`00-${TRACE}-${call.spanContext().spanId}-01`)
  }
  expect(JSON.stringify(calls.map((s) => s.attributes))).not.toContain(stripeEnv(fake).STRIPE_SECRET_KEY!)
})

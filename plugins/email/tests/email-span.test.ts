/** An SMTP send during a traced request is a CLIENT span naming the server only (docs/observability.md#child-spans). */
import { SpanKind, SpanStatusCode } from '@opentelemetry/api'
import { afterAll, beforeAll, expect, it } from 'bun:test'
import { createTracing } from '../../../core/observability/index.ts'
import { testApp, type TestApp } from '../../../core/testing/index.ts'
import email, { type EmailService } from '../index.ts'
import { startSmtpSink, type SmtpSink } from './smtp-sink.ts'

const tracing = createTracing({ enabled: true, exporter: 'memory' })
let sink: SmtpSink
let t: TestApp
let mail: EmailService

beforeAll(async () => {
  sink = await startSmtpSink()
  t = await testApp({ plugins: [email], tracing, env: { SMTP_URL: sink.url } })
  mail = t.app.service(email)
})
afterAll(async () => {
  await t?.close()
  await tracing.shutdown()
  await sink?.close()
})

it('wraps the send in a span under the request, without recipients or content', async () => {
  const request = tracing.startRequestSpan('POST', '/x', new Headers())
  await request.run(() => mail.send({ to: 'span-rcpt@example.com', subject: 'Span subject', text: 'span body' }))
  request.end(200)
  await sink.waitFor(1)
  const spans = tracing.memoryExporter!.getFinishedSpans()
  const smtp = spans.find((s) => s.name === 'SMTP send')!
  expect(smtp.kind).toBe(SpanKind.CLIENT)
  expect(smtp.parentSpanContext?.spanId).toBe(request.spanId)
  expect(smtp.status.code).toBe(SpanStatusCode.UNSET)
  expect(smtp.attributes).toEqual({
    'server.address': new URL(sink.url).hostname,
    'server.port': sink.port,
    'network.protocol.name': 'smtp',
  })
  const dump = JSON.stringify(spans.map((s) => [s.name, s.attributes]))
  for (const secret of ['span-rcpt', 'Span subject', 'span body']) expect(dump).not.toContain(secret)
})

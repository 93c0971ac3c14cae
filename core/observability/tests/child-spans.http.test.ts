/**
 * Child spans of a request (docs/observability.md#child-spans): database queries (PGlite, or
 * PostgreSQL with TEST_DATABASE_URL), Redis commands (with TEST_REDIS_URL) and outbound HTTP to a
 * server on loopback, all under the request's span, with no parameter value anywhere; with tracing
 * off, no span and no wrapper.
 */
import type { ReadableSpan } from '@opentelemetry/sdk-trace'
import { SpanKind, SpanStatusCode } from '@opentelemetry/api'
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { tracedFetch } from '../../http/index.ts'
import { definePlugin, type PluginContext } from '../../plugin/index.ts'
import { testApp, type TestApp } from '../../testing/index.ts'
import { clientSpan } from '../spans.ts'
import { createTracing } from '../tracing.ts'

const REDIS = process.env.TEST_REDIS_URL
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'
// Values a handler sends as parameters, in a literal, in a URL query and in a body: none may reach a span.
const SECRET_PARAM = 'secret-param-7f3a'
const SECRET_TX = 'secret-tx-91c2'
const SECRET_LITERAL = 'secret-literal-55d0'
const SECRET_QUERY = 'secret-query-0b8e'
const SECRET_PAYLOAD = 'secret-payload-c4d1'
const SECRETS = [SECRET_PARAM, SECRET_TX, SECRET_LITERAL, SECRET_QUERY, SECRET_PAYLOAD]

declare module '../../events/types.ts' {
  interface EventMap {
    'spans-test.done': { note: string }
  }
}

/** A plugin whose route queries, runs a transaction, publishes a broadcast event and calls `target`. */
function spansPlugin(target: () => string) {
  const seen: { sql?: PluginContext['sql'] } = {}
  const plugin = definePlugin({
    name: 'spans-test',
    setup: (ctx) => {
      seen.sql = ctx.sql
      return {
        routes: {
          app: ({ router, sql, events }) =>
            router('/spans').get('/work/:id', async ({ params }) => {
              const [row] = await sql<{ v: string }[]>`select ${SECRET_PARAM}::text as v, ${params.id}::text as id`
              await sql.begin(async (tx) => {
                await tx`select ${SECRET_TX}::text as v`
              })
              await sql.unsafe(`select '${SECRET_LITERAL}' as v, 42 as n`)
              // A fragment is never sent on its own: no span for it.
              const where = sql`v = ${SECRET_PARAM}`
              await sql`select * from (select ${SECRET_PARAM}::text as v) t where ${where}`
              await events.publish('spans-test.done', { note: SECRET_PAYLOAD }, { broadcast: true })
              const res = await tracedFetch(`${target()}/hook?token=${SECRET_QUERY}&x=1`, {
                headers: { 'x-caller': 'spans-test' },
              })
              await clientSpan('SMTP send', { 'server.address': 'mail.example' }, async () => 'sent')
              return { v: row!.v, upstream: res.status }
            }),
        },
      }
    },
  })
  return { plugin, seen }
}

/** Requests the loopback server received: its traceparent header and its own header. */
interface Received {
  traceparent: string | null
  caller: string | null
  url: string
}

/** The service called out to, on loopback: it keeps what it received. */
const startUpstream = (received: Received[]) =>
  Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch(req) {
      received.push({ traceparent: req.headers.get('traceparent'), caller: req.headers.get('x-caller'), url: req.url })
      return new Response('ok')
    },
  })

describe('child spans (tracing on)', () => {
  const tracing = createTracing({ enabled: true, exporter: 'memory', serviceName: 'spans-test' })
  const received: Received[] = []
  const upstream = startUpstream(received)
  const base = `http://127.0.0.1:${upstream.port}`
  const { plugin, seen } = spansPlugin(() => base)
  const user = `spans-${crypto.randomUUID()}`
  let t: TestApp
  let spans: ReadableSpan[]
  let server: ReadableSpan

  beforeAll(async () => {
    t = await testApp({ plugins: [plugin], tracing, env: REDIS ? { REDIS_URL: REDIS } : {} })
    tracing.memoryExporter!.reset()
    const res = await t.as(user).get('/api/v1/app/spans/work/id-1', {
      headers: { traceparent: `00-${TRACE}-00f067aa0ba902b7-01` },
    })
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ v: SECRET_PARAM, upstream: 200 })
    spans = tracing.memoryExporter!.getFinishedSpans().filter((s) => s.spanContext().traceId === TRACE)
    server = spans.find((s) => s.kind === SpanKind.SERVER)!
  }, 60_000)
  afterAll(async () => {
    await t?.close()
    await tracing.shutdown()
    upstream.stop(true)
  })

  const children = () => spans.filter((s) => s.kind === SpanKind.CLIENT)
  const childOf = (s: ReadableSpan, parent: ReadableSpan) =>
    s.spanContext().traceId === parent.spanContext().traceId &&
    s.parentSpanContext?.spanId === parent.spanContext().spanId

  it('hands plugins a wrapped client', () => {
    expect(seen.sql).toBeDefined()
    expect(seen.sql).not.toBe(t.app.db.sql)
  })

  it('records each executed query as a CLIENT span under the request span, with placeholders only', () => {
    expect(server.name).toBe('GET /api/v1/app/spans/work/:id')
    const db = children().filter((s) => s.attributes['db.system.name'] === 'postgresql')
    const param = db.find((s) => String(s.attributes['db.query.text']).includes('::text as id'))!
    expect(param).toBeDefined()
    expect(childOf(param, server)).toBe(true)
    expect(param.name).toBe('SELECT')
    expect(param.attributes['db.operation.name']).toBe('SELECT')
    expect(param.attributes['db.query.text']).toBe('select $1::text as v, $2::text as id')
    expect(param.status.code).toBe(SpanStatusCode.UNSET)
    if (t.app.db.kind === 'postgres') expect(param.attributes['server.address']).toBeString()
    else expect(param.attributes['server.address']).toBeUndefined() // PGlite: a unix socket

    // The query with a fragment is one span; the fragment alone is none.
    const withFragment = db.filter((s) => String(s.attributes['db.query.text']).includes('where v = $2'))
    expect(withFragment).toHaveLength(1)
    expect(withFragment[0]!.name).toBe('SELECT')
    expect(db.filter((s) => String(s.attributes['db.query.text']).startsWith('v = '))).toHaveLength(0)
  })

  it('puts a transaction\'s queries under a "transaction" span', () => {
    const tx = children().find((s) => s.name === 'transaction')!
    expect(tx).toBeDefined()
    expect(childOf(tx, server)).toBe(true)
    const inner = children().find((s) => s.attributes['db.query.text'] === 'select $1::text as v')!
    expect(inner).toBeDefined()
    expect(childOf(inner, tx)).toBe(true)
  })

  it('replaces the literals of a statement sent without parameters', () => {
    const unsafe = children().find((s) => String(s.attributes['db.query.text']).includes(' as n'))!
    expect(unsafe.attributes['db.query.text']).toBe('select ? as v, ? as n')
  })

  it('records the authentication lookups made before the handler under the request span too', () => {
    // The first request of a user provisions it: the user directory's queries run in the authenticate stage.
    const users = children().filter((s) => s.attributes['db.collection.name'] === 'users')
    expect(users.length).toBeGreaterThan(0)
    for (const s of users) expect(childOf(s, server)).toBe(true)
  })

  it('calls out with a CLIENT span, a traceparent naming it, and no query value', () => {
    const http = children().find((s) => s.attributes['url.full'] !== undefined)!
    expect(http).toBeDefined()
    expect(childOf(http, server)).toBe(true)
    expect(http.name).toBe('GET')
    expect(http.attributes).toMatchObject({
      'http.request.method': 'GET',
      'server.address': '127.0.0.1',
      'server.port': upstream.port,
      'url.full': `${base}/hook?token=REDACTED&x=REDACTED`,
      'http.response.status_code': 200,
    })
    const got = received.at(-1)!
    expect(got.caller).toBe('spans-test') // the caller's own headers are kept
    expect(got.traceparent).toBe(`00-${TRACE}-${http.spanContext().spanId}-01`)
  })

  it('wraps a send the core cannot see (SMTP) in a span when asked', () => {
    const smtp = children().find((s) => s.name === 'SMTP send')!
    expect(childOf(smtp, server)).toBe(true)
  })

  it.skipIf(!REDIS)('records Redis commands (rate limit, event bus) without keys or values', () => {
    const redis = children().filter((s) => s.attributes['db.system.name'] === 'redis')
    const names = redis.map((s) => s.name)
    expect(names.some((n) => n === 'EVALSHA' || n === 'EVAL')).toBe(true) // the rate-limit hit
    expect(names).toContain('PUBLISH') // the broadcast event
    for (const s of redis) {
      expect(childOf(s, server)).toBe(true)
      expect(s.attributes['db.operation.name']).toBe(s.name)
      expect(s.attributes['db.query.text']).toBeUndefined()
      expect(JSON.stringify(s.attributes)).not.toContain(user)
      expect(JSON.stringify(s.attributes)).not.toContain('omnistack:')
    }
  })

  it('writes no parameter value, literal, query value or payload into any span', () => {
    const dump = JSON.stringify(spans.map((s) => ({ name: s.name, attributes: s.attributes, events: s.events })))
    for (const secret of SECRETS) expect(dump).not.toContain(secret)
  })

  it('marks a failed query ERROR with its SQLSTATE only', async () => {
    tracing.memoryExporter!.reset()
    const sql = seen.sql!
    const bad = 'not-a-uuid-3e1f'
    const root = tracing.startRequestSpan('GET', '/x', new Headers())
    await root.run(() => sql`select ${bad}::uuid`.catch(() => undefined))
    root.end(500)
    const failed = tracing.memoryExporter!.getFinishedSpans().find((s) => s.kind === SpanKind.CLIENT)!
    expect(failed.status.code).toBe(SpanStatusCode.ERROR)
    expect(failed.attributes['db.response.status_code']).toBe('22P02')
    expect(failed.attributes['error.type']).toBe('22P02')
    expect(JSON.stringify({ a: failed.attributes, e: failed.events, s: failed.status })).not.toContain(bad)
  })

  it('makes no span outside a request', async () => {
    tracing.memoryExporter!.reset()
    await seen.sql!`select 1`
    await tracedFetch(`${base}/outside`)
    expect(tracing.memoryExporter!.getFinishedSpans()).toHaveLength(0)
    expect(received.at(-1)!.traceparent).toBeNull()
  })
})

describe('child spans (tracing off)', () => {
  // Another app in the process records spans: the tracing-off app must add none to it.
  const recording = createTracing({ enabled: true, exporter: 'memory' })
  const received: Received[] = []
  const upstream = startUpstream(received)
  const { plugin, seen } = spansPlugin(() => `http://127.0.0.1:${upstream.port}`)
  let t: TestApp

  beforeAll(async () => {
    t = await testApp({
      plugins: [plugin],
      tracing: createTracing({ enabled: false }),
      env: REDIS ? { REDIS_URL: REDIS } : {},
    })
  }, 60_000)
  afterAll(async () => {
    await t?.close()
    await recording.shutdown()
    upstream.stop(true)
  })

  it('hands plugins postgres.js itself and records nothing', async () => {
    expect(seen.sql).toBe(t.app.db.sql)
    const res = await t.as(`spans-off-${crypto.randomUUID()}`).get('/api/v1/app/spans/work/id-2', {
      headers: { traceparent: `00-${TRACE}-00f067aa0ba902b7-01` },
    })
    expect(res.status).toBe(200)
    expect(recording.memoryExporter!.getFinishedSpans()).toHaveLength(0)
    // No span, so nothing to name in a traceparent: the call goes out as the caller made it.
    expect(received.at(-1)!.traceparent).toBeNull()
    expect(received.at(-1)!.caller).toBe('spans-test')
  })
})

/**
 * Bun closes a connection that stays silent for its idle timeout (10 s). An event stream is silent
 * between heartbeats, so the pipeline marks it (core/http/long-lived.ts) and serve() lifts the
 * timeout for that answer alone; any other streamed answer keeps it (the control below shows the
 * timeout is real, so the first test can fail).
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { isLongLived } from '../http/index.ts'
import { definePlugin } from '../index.ts'
import { testApp, type TestApp } from '../testing/index.ts'
import { serve, type RunningServer } from './bun.ts'

/**
 * Bun checks idle connections on a coarse tick: measured here, a silence of 11 s was not cut and
 * one of 15 s was. 18 s leaves a margin on a slow machine.
 */
const SILENCE_MS = 18_000

/** Writes `first`, stays silent past Bun's idle timeout, then writes `second` and ends. */
const slowStream = () =>
  new ReadableStream<Uint8Array>({
    async start(controller) {
      const encoder = new TextEncoder()
      controller.enqueue(encoder.encode('data: first\n\n'))
      await Bun.sleep(SILENCE_MS)
      try {
        controller.enqueue(encoder.encode('data: second\n\n'))
        controller.close()
      } catch {
        // The client is gone (the control case): nothing to write to.
      }
    },
  })

const slow = definePlugin({
  name: 'slow-streams',
  setup: () => ({
    routes: {
      public: ({ router }) =>
        router('/slow')
          .get('/events', () => new Response(slowStream(), { headers: { 'content-type': 'text/event-stream' } }))
          .get('/text', () => new Response(slowStream(), { headers: { 'content-type': 'text/plain' } })),
    },
  }),
})

let t: TestApp
let server: RunningServer

beforeAll(async () => {
  t = await testApp({ plugins: [slow] })
  server = serve(t.app, { port: 0, hostname: '127.0.0.1', signals: false })
}, 120_000)
afterAll(async () => {
  await server?.shutdown()
  await t?.close()
})

/** Everything the client receives before the stream ends or the connection drops. */
async function readAll(path: string): Promise<string> {
  const res = await fetch(`${server.url}/api/v1/public${path}`)
  expect(res.status).toBe(200)
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  let text = ''
  try {
    for (;;) {
      const chunk = await reader.read()
      if (chunk.done) break
      text += decoder.decode(chunk.value, { stream: true })
    }
  } catch {
    // Connection closed by the server: what arrived so far is the answer.
  }
  return text
}

describe('long-lived answers', () => {
  it('marks only event streams', async () => {
    const events = await t.app.serve(new Request('http://local/api/v1/public/slow/events'))
    const health = await t.app.serve(new Request('http://local/api/v1/public/health'))
    expect(isLongLived(events)).toBe(true)
    expect(isLongLived(health)).toBe(false)
    await events.body?.cancel()
  })

  it(
    'keeps an event stream open past the idle timeout, and cuts another silent stream',
    async () => {
      const [events, text] = await Promise.all([readAll('/slow/events'), readAll('/slow/text')])
      expect(events).toBe('data: first\n\ndata: second\n\n')
      expect(text).toBe('data: first\n\n')
    },
    SILENCE_MS + 10_000,
  )
})

import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { aiFixture, sseOf, tokensOf, type AiFixture } from './helpers.ts'

const PIECES = ['Hello', '! I am', ' fine.\nThanks for', ' asking.']
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('ai streaming', () => {
  let f: AiFixture
  beforeAll(async () => {
    f = await aiFixture({ AI_TIMEOUT_MS: '2000' })
  })
  afterAll(() => f?.close())

  for (const [provider, model] of [
    ['openai', 'gpt-4o'],
    ['anthropic', 'claude-sonnet-4-5'],
    ['perplexity', 'sonar'],
  ] as const) {
    it(`relays ${provider}'s stream as data: chunks ending in [DONE]`, async () => {
      const u = f.user()
      const res = await u.post('/api/v2/app/ai/chat', { prompt: 'Hello, how are you?', provider, stream: true })
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
      expect(res.headers.get('x-ai-provider')).toBe(provider)
      expect(res.headers.get('x-ai-model')).toBe(model)
      expect(res.headers.get('x-request-id')).toBeTruthy()
      const { data, named } = await sseOf(res.text)
      // Not enveloped: the v2 route streams the same events as v1.
      expect(data).toEqual([...PIECES, '[DONE]'])
      expect(named).toEqual([])
      expect(res.text.startsWith('data: Hello\n\n')).toBe(true)
      expect(res.text).toContain('data:  fine.\ndata: Thanks for\n\n')
      const sent = f[provider].requests.at(-1)!.body
      expect(sent.stream).toBe(true)
      if (provider === 'openai') expect(sent.stream_options).toEqual({ include_usage: true })
      // The provider's own usage report is what gets metered.
      await sleep(20)
      expect(tokensOf(f.metered, u.id).map((e) => [e.value, e.dimensions.model])).toEqual([[37, model]])
    })
  }

  it('streams /completions and /chat/routed too', async () => {
    const a = await f
      .user()
      .post('/api/v1/app/ai/completions', { messages: [{ role: 'user', content: 'hi' }], stream: true })
    expect((await sseOf(a.text)).data.at(-1)).toBe('[DONE]')
    const b = await f.user().post('/api/v1/app/ai/chat/routed', { prompt: 'hi', complexity: 'complex', stream: true })
    expect(b.headers.get('x-ai-provider')).toBe('anthropic')
    expect((await sseOf(b.text)).data).toEqual([...PIECES, '[DONE]'])
  })

  it('ends with an error event, without [DONE], when the provider fails mid-stream', async () => {
    for (const provider of ['openai', 'anthropic'] as const) {
      f[provider].mode = 'stream-error'
      try {
        const res = await f.user().post('/api/v1/app/ai/chat', { prompt: 'hi', provider, stream: true })
        expect(res.status).toBe(200)
        const { data, named } = await sseOf(res.text)
        expect(data).toEqual(PIECES.slice(0, 2))
        expect(named.length).toBe(1)
        expect(named[0]!.event).toBe('error')
        expect(JSON.parse(named[0]!.data)).toMatchObject({
          code: 'EXTERNAL_SERVICE_ERROR',
          message: expect.stringContaining(`${provider} stream failed`),
        })
      } finally {
        f[provider].mode = 'ok'
      }
    }
  })

  it('relays a gateway that ignores stream: true as one event', async () => {
    f.openai.mode = 'no-stream'
    try {
      const u = f.user()
      const res = await u.post('/api/v1/app/ai/chat', { prompt: 'hi', stream: true })
      expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
      expect((await sseOf(res.text)).data).toEqual([PIECES.join(''), '[DONE]'])
      expect(tokensOf(f.metered, u.id).map((e) => e.value)).toEqual([37])
    } finally {
      f.openai.mode = 'ok'
    }
  })

  it('answers 502 JSON, not a stream, when the provider refuses the request', async () => {
    f.anthropic.mode = 'error500'
    try {
      const res = await f.user().post('/api/v1/app/ai/chat', { prompt: 'hi', provider: 'anthropic', stream: true })
      expect(res.status).toBe(502)
      expect(res.headers.get('content-type')).toContain('application/json')
      expect(res.body.error).toMatchObject({
        code: 'EXTERNAL_SERVICE_ERROR',
        details: { provider: 'anthropic', upstream_status: 500 },
      })
    } finally {
      f.anthropic.mode = 'ok'
    }
  })

  it('aborts the upstream request when the reader cancels, and meters what was used', async () => {
    f.openai.mode = 'slow-stream'
    f.openai.aborted = 0
    try {
      const u = f.user()
      const res = await f.t.app.handle(
        new Request('http://localhost/api/v1/app/ai/chat', {
          method: 'POST',
          headers: { authorization: `Bearer ${await f.t.token(u.id)}`, 'content-type': 'application/json' },
          body: JSON.stringify({ prompt: 'Tell me a long story', stream: true }),
        }),
      )
      const reader = res.body!.getReader()
      const first = new TextDecoder().decode((await reader.read()).value)
      expect(first).toBe('data: Hello\n\n')
      await reader.cancel()
      expect(await f.openai.waitForAbort()).toBe(true)
      await sleep(20)
      const [metered] = tokensOf(f.metered, u.id)
      // No usage report arrived: the prompt and the text so far are estimated (4 chars a token).
      expect(metered).toMatchObject({
        value: Math.ceil('Tell me a long story'.length / 4) + Math.ceil('Hello'.length / 4),
        dimensions: { model: 'gpt-4o' },
      })
    } finally {
      f.openai.mode = 'ok'
    }
  })

  it('aborts the upstream request when an HTTP client disconnects from a real server', async () => {
    f.anthropic.mode = 'slow-stream'
    f.anthropic.aborted = 0
    const app = f.t.app
    const server = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch: (req, srv) => app.handle(req, srv.requestIP(req)?.address),
    })
    try {
      // A full stream over a real socket first: nothing aborts it early.
      const full = await fetch(`${server.url}api/v1/app/ai/chat`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await f.t.token('ai-full-stream')}`, 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: 'hi', stream: true }),
      })
      expect((await sseOf(await full.text())).data).toEqual([...PIECES, '[DONE]'])

      const u = f.user()
      const client = new AbortController()
      const res = await fetch(`${server.url}api/v1/app/ai/chat`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await f.t.token(u.id)}`, 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: 'Tell me a long story', provider: 'anthropic', stream: true }),
        signal: client.signal,
      })
      const reader = res.body!.getReader()
      expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: Hello\n\n')
      client.abort()
      expect(await f.anthropic.waitForAbort()).toBe(true)
      await sleep(50)
      const [metered] = tokensOf(f.metered, u.id)
      // Anthropic's message_start already reported the 25 input tokens.
      expect(metered?.value).toBe(25 + Math.ceil('Hello'.length / 4))
      expect(metered?.dimensions.model).toBe('claude-sonnet-4-5')
    } finally {
      f.anthropic.mode = 'ok'
      await server.stop(true)
    }
  })
})

describe('ai streaming timeouts', () => {
  it('ends a stream that stalls longer than AI_TIMEOUT_MS with an error event', async () => {
    const f = await aiFixture({ AI_TIMEOUT_MS: '400' })
    try {
      f.openai.mode = 'slow-stream'
      f.openai.slowGapMs = 1500
      const res = await f.user().post('/api/v1/app/ai/chat', { prompt: 'hi', stream: true })
      expect(res.status).toBe(200)
      const { data, named } = await sseOf(res.text)
      expect(data).not.toContain('[DONE]')
      expect(named[0]?.event).toBe('error')
      expect(JSON.parse(named[0]!.data).message).toBe('openai stream stalled for 400 ms')
    } finally {
      await f.close()
    }
  })
})

import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { testApp } from '../../../core/testing/index.ts'
import ai from '../index.ts'
import { aiFixture, tokensOf, type AiFixture } from './helpers.ts'

const messages = [
  { role: 'system', content: 'You are a helpful assistant.' },
  { role: 'user', content: 'Hello, how are you?' },
]
const ANSWER = 'Hello! I am fine.\nThanks for asking.'

describe('ai with every provider configured', () => {
  let f: AiFixture
  beforeAll(async () => {
    f = await aiFixture()
  })
  afterAll(() => f?.close())

  it('reports providers, defaults and the routing table', async () => {
    const res = await f.user().get('/api/v1/app/ai/status')
    expect(res.status).toBe(200)
    expect(res.body).toEqual({
      available: true,
      providers: ['openai', 'anthropic', 'perplexity'],
      default_provider: 'openai',
      default_model: 'gpt-4o',
      routing: {
        simple: { provider: 'openai', model: 'gpt-4o-mini' },
        moderate: { provider: 'openai', model: 'gpt-4o' },
        complex: { provider: 'anthropic', model: 'claude-sonnet-4-5' },
        search: { provider: 'perplexity', model: 'sonar' },
      },
    })
  })

  it('completes through OpenAI chat completions with the seed response shape', async () => {
    const u = f.user()
    const res = await u.post('/api/v1/app/ai/completions', { messages, temperature: 0.2, max_tokens: 300 })
    expect(res.status).toBe(200)
    expect(res.body).toEqual({
      content: ANSWER,
      model: 'gpt-4o',
      provider: 'openai',
      usage: { prompt_tokens: 25, completion_tokens: 12, total_tokens: 37 },
      finish_reason: 'stop',
      latency_ms: expect.any(Number),
    })
    expect(res.body.latency_ms).toBeGreaterThan(0)
    const sent = f.openai.requests.at(-1)!
    expect(sent.path).toBe('/v1/chat/completions')
    expect(sent.headers.authorization).toBe(`Bearer ${f.openai.key}`)
    expect(sent.body).toEqual({ model: 'gpt-4o', messages, stream: false, max_tokens: 300, temperature: 0.2 })
  })

  it('applies the seed defaults: temperature 0.7, max_tokens 1000', async () => {
    await f.user().post('/api/v1/app/ai/completions', { messages })
    expect(f.openai.requests.at(-1)!.body).toMatchObject({ temperature: 0.7, max_tokens: 1000 })
  })

  it('sends max_completion_tokens and no temperature to OpenAI reasoning models', async () => {
    await f.user().post('/api/v1/app/ai/completions', { messages, model: 'o3-mini', max_tokens: 50 })
    const body = f.openai.requests.at(-1)!.body
    expect(body.max_completion_tokens).toBe(50)
    expect(body.max_tokens).toBeUndefined()
    expect(body.temperature).toBeUndefined()
  })

  it('sends claude models to the Anthropic messages API with the system prompt apart', async () => {
    const res = await f
      .user()
      .post('/api/v1/app/ai/completions', { messages, model: 'claude-3-5-haiku-latest', temperature: 1.6 })
    expect(res.body).toMatchObject({
      content: ANSWER,
      provider: 'anthropic',
      model: 'claude-3-5-haiku-latest',
      finish_reason: 'stop',
    })
    expect(res.body.usage).toEqual({ prompt_tokens: 25, completion_tokens: 12, total_tokens: 37 })
    const sent = f.anthropic.requests.at(-1)!
    expect(sent.path).toBe('/v1/messages')
    expect(sent.headers['x-api-key']).toBe(f.anthropic.key)
    expect(sent.headers['anthropic-version']).toBe('2023-06-01')
    expect(sent.body).toEqual({
      model: 'claude-3-5-haiku-latest',
      max_tokens: 1000,
      system: 'You are a helpful assistant.',
      messages: [{ role: 'user', content: 'Hello, how are you?' }],
      temperature: 1,
      stream: false,
    })
  })

  it('honours an explicit provider and returns Perplexity citations', async () => {
    const res = await f.user().post('/api/v1/app/ai/chat', { prompt: 'What happened today?', provider: 'perplexity' })
    expect(res.body).toMatchObject({
      provider: 'perplexity',
      model: 'sonar',
      citations: ['https://example.org/a', 'https://example.org/b'],
    })
    expect(f.perplexity.requests.at(-1)!.path).toBe('/chat/completions')
  })

  it('turns a chat prompt and system into messages', async () => {
    const res = await f.user().post('/api/v1/app/ai/chat', {
      prompt: 'Explain quantum computing in one sentence.',
      system: 'You are a physics teacher.',
      temperature: 0.5,
    })
    expect(res.status).toBe(200)
    expect(f.openai.requests.at(-1)!.body.messages).toEqual([
      { role: 'system', content: 'You are a physics teacher.' },
      { role: 'user', content: 'Explain quantum computing in one sentence.' },
    ])
  })

  it('routes each complexity to the provider and model of the table', async () => {
    const expected = {
      simple: ['openai', 'gpt-4o-mini'],
      moderate: ['openai', 'gpt-4o'],
      complex: ['anthropic', 'claude-sonnet-4-5'],
      search: ['perplexity', 'sonar'],
    } as const
    for (const [complexity, [provider, model]] of Object.entries(expected)) {
      const res = await f
        .user()
        .post('/api/v1/app/ai/chat/routed', { prompt: 'Solve this complex coding problem...', complexity })
      expect(res.status).toBe(200)
      expect(res.body).toMatchObject({ provider, model, complexity })
      expect(f[provider].requests.at(-1)!.body.model).toBe(model)
    }
    const dflt = await f.user().post('/api/v1/app/ai/chat/routed', { prompt: 'Summarise this.' })
    expect(dflt.body).toMatchObject({ complexity: 'moderate', model: 'gpt-4o' })
  })

  it('meters ai_requests and ai_tokens with the model as dimension', async () => {
    const u = f.user()
    await u.post('/api/v1/app/ai/chat', { prompt: 'one' })
    await u.post('/api/v1/app/ai/chat', { prompt: 'two', model: 'claude-sonnet-4-5' })
    await u.post('/api/v1/app/ai/chat', { prompt: 'three', model: 'claude-sonnet-4-5' })
    const tokens = tokensOf(f.metered, u.id)
    const byModel: Record<string, number> = {}
    for (const e of tokens) byModel[e.dimensions.model!] = (byModel[e.dimensions.model!] ?? 0) + e.value
    expect(byModel).toEqual({ 'gpt-4o': 37, 'claude-sonnet-4-5': 74 })
    const requests = f.metered.filter((e) => e.userId === u.id && e.metric === 'ai_requests')
    expect(requests.map((e) => e.dimensions.model).sort()).toEqual(['claude-sonnet-4-5', 'claude-sonnet-4-5', 'gpt-4o'])
  })

  it('answers 502 EXTERNAL_SERVICE_ERROR with the provider message when it fails', async () => {
    f.openai.mode = 'error500'
    f.anthropic.mode = 'error500'
    try {
      const a = await f.user().post('/api/v1/app/ai/chat', { prompt: 'hi' })
      expect(a.status).toBe(502)
      expect(a.body.error).toEqual({
        code: 'EXTERNAL_SERVICE_ERROR',
        message:
          'openai request failed (HTTP 500): The server had an error while processing your request. Sorry about that!',
        details: { provider: 'openai', upstream_status: 500 },
      })
      const b = await f.user().post('/api/v2/app/ai/chat', { prompt: 'hi', provider: 'anthropic' })
      expect(b.status).toBe(502)
      expect(b.body.error.message).toBe('anthropic request failed (HTTP 500): Internal server error')
      expect(b.body.meta.version).toBe('v2')
    } finally {
      f.openai.mode = 'ok'
      f.anthropic.mode = 'ok'
    }
  })

  it('refuses bad input with 422 and details.field', async () => {
    const u = f.user()
    const long = 'x'.repeat(60_000)
    const cases: [string, unknown, string][] = [
      ['/completions', { messages: [{ role: 'robot', content: 'hi' }] }, 'messages.0.role'],
      ['/completions', { messages: [] }, 'messages'],
      ['/completions', {}, 'messages'],
      ['/completions', { messages: [{ role: 'user', content: '' }] }, 'messages.0.content'],
      ['/completions', { messages: [{ role: 'system', content: 'only a system prompt' }] }, 'messages'],
      [
        '/completions',
        {
          messages: [
            { role: 'user', content: long },
            { role: 'user', content: long },
          ],
        },
        'messages',
      ],
      ['/completions', { messages, temperature: 2.5 }, 'temperature'],
      ['/completions', { messages, temperature: -0.1 }, 'temperature'],
      ['/completions', { messages, max_tokens: 0 }, 'max_tokens'],
      ['/completions', { messages, max_tokens: 4097 }, 'max_tokens'],
      ['/chat', { prompt: 'hi', model: 'gpt 4o; drop' }, 'model'],
      ['/chat', { prompt: 'hi', provider: 'mistral' }, 'provider'],
      ['/chat', { prompt: '' }, 'prompt'],
      ['/chat/routed', { prompt: 'hi', complexity: 'extreme' }, 'complexity'],
    ]
    for (const [path, body, field] of cases) {
      const res = await f.user().post(`/api/v1/app/ai${path}`, body)
      expect({ path, field, status: res.status }).toEqual({ path, field, status: 422 })
      expect(res.body.error.details.field).toBe(field)
    }
    const tooMany = Array.from({ length: 51 }, () => ({ role: 'user', content: 'hi' }))
    const res = await u.post('/api/v1/app/ai/completions', { messages: tooMany })
    expect(res.status).toBe(422)
    expect(res.body.error.details.field).toBe('messages')
  }, 30_000)

  it('answers the 11th AI request of a user within a minute with 429', async () => {
    const u = f.user()
    for (let i = 0; i < 10; i++) expect((await u.get('/api/v1/app/ai/status')).status).toBe(200)
    const res = await u.get('/api/v1/app/ai/status')
    expect(res.status).toBe(429)
    expect(res.body.error.code).toBe('RATE_LIMIT_EXCEEDED')
    expect(res.headers.get('retry-after')).toBeTruthy()
    expect(res.headers.get('x-ratelimit-limit')).toBe('10')
    expect((await f.user().get('/api/v1/app/ai/status')).status).toBe(200)
  })
})

describe('ai without keys, timeouts and restrictions', () => {
  it('answers 503 SERVICE_UNAVAILABLE without a key for the chosen provider', async () => {
    const f = await aiFixture({}, { openai: true, anthropic: false, perplexity: false })
    try {
      const status = await f.user().get('/api/v1/app/ai/status')
      expect(status.body).toMatchObject({ available: true, providers: ['openai'] })
      const claude = await f.user().post('/api/v1/app/ai/chat', { prompt: 'hi', model: 'claude-sonnet-4-5' })
      expect(claude.status).toBe(503)
      expect(claude.body.error).toMatchObject({ code: 'SERVICE_UNAVAILABLE', details: { provider: 'anthropic' } })
      const routed = await f
        .user()
        .post('/api/v1/app/ai/chat/routed', { prompt: 'hi', complexity: 'search', stream: true })
      expect(routed.status).toBe(503)
      expect(routed.headers.get('content-type')).toContain('application/json')
      expect(f.anthropic.requests.length + f.perplexity.requests.length).toBe(0)
    } finally {
      await f.close()
    }
  })

  it('reports itself unavailable and answers 503 when no provider has a key', async () => {
    const t = await testApp({ plugins: [ai] })
    try {
      const status = await t.as('nobody').get('/api/v1/app/ai/status')
      expect(status.body).toMatchObject({
        available: false,
        providers: [],
        default_provider: 'openai',
        default_model: 'gpt-4o',
      })
      const res = await t.as('nobody').post('/api/v1/app/ai/completions', { messages })
      expect(res.status).toBe(503)
      expect(res.body.error.code).toBe('SERVICE_UNAVAILABLE')
    } finally {
      await t.close()
    }
  })

  it('answers 502 when the provider does not answer within AI_TIMEOUT_MS', async () => {
    const f = await aiFixture({ AI_TIMEOUT_MS: '300' })
    try {
      f.openai.mode = 'hang'
      const started = Date.now()
      const res = await f.user().post('/api/v1/app/ai/chat', { prompt: 'hi' })
      expect(res.status).toBe(502)
      expect(res.body.error.message).toBe('openai request failed: no answer within 300 ms')
      expect(Date.now() - started).toBeLessThan(3000)
      const stream = await f.user().post('/api/v1/app/ai/chat', { prompt: 'hi', stream: true })
      expect(stream.status).toBe(502)
    } finally {
      await f.close()
    }
  })

  it('never shows the API key when the provider refuses it', async () => {
    const f = await aiFixture({ OPENAI_API_KEY: 'sk-live-secret-value-that-is-wrong-0000' })
    try {
      const res = await f.user().post('/api/v1/app/ai/chat', { prompt: 'hi' })
      expect(res.status).toBe(502)
      expect(res.body.error.details.upstream_status).toBe(401)
      expect(res.text).not.toContain('secret-value')
      expect(res.text).not.toContain('sk-live')
    } finally {
      await f.close()
    }
  })

  it('follows AI_DEFAULT_PROVIDER, AI_ROUTE_* and AI_ALLOWED_MODELS', async () => {
    const f = await aiFixture({
      AI_DEFAULT_PROVIDER: 'anthropic',
      AI_ROUTE_COMPLEX: 'openai:llama3.1:70b',
      AI_ALLOWED_MODELS: 'claude-3-5-haiku-latest',
    })
    try {
      const dflt = await f.user().post('/api/v1/app/ai/chat', { prompt: 'hi' })
      expect(dflt.body).toMatchObject({ provider: 'anthropic', model: 'claude-sonnet-4-5' })
      const routed = await f.user().post('/api/v1/app/ai/chat/routed', { prompt: 'hi', complexity: 'complex' })
      expect(routed.body).toMatchObject({ provider: 'openai', model: 'llama3.1:70b' })
      expect(f.openai.requests.at(-1)!.body.model).toBe('llama3.1:70b')
      expect(
        (await f.user().post('/api/v1/app/ai/chat', { prompt: 'hi', model: 'claude-3-5-haiku-latest' })).status,
      ).toBe(200)
      const refused = await f.user().post('/api/v1/app/ai/chat', { prompt: 'hi', model: 'gpt-4.5-preview' })
      expect(refused.status).toBe(422)
      expect(refused.body.error.details.field).toBe('model')
    } finally {
      await f.close()
    }
  })

  it('refuses a bad configuration at start, naming the variables', async () => {
    const err = await testApp({
      plugins: [ai],
      env: { AI_ROUTE_SEARCH: 'bing:search', OPENAI_BASE_URL: 'ftp://x', AI_DEFAULT_PROVIDER: 'mistral' },
    }).catch((e: Error) => e)
    const message = (err as Error).message
    for (const name of ['AI_ROUTE_SEARCH', 'OPENAI_BASE_URL', 'AI_DEFAULT_PROVIDER']) expect(message).toContain(name)
  })
})

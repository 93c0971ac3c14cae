/**
 * Local fakes of the providers' HTTP APIs on loopback ports, speaking their wire formats:
 * OpenAI chat completions (JSON, `data:` chunks with a usage chunk when asked, `data: [DONE]`,
 * `{"error": {...}}` bodies), Anthropic messages (JSON, named SSE events, `{"type":"error"}`
 * bodies) and Perplexity (OpenAI-shaped with citations, usage in the last chunk, no [DONE]).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'

/** `no-stream`: answers JSON even when asked to stream (as some gateways do). */
export type FakeMode = 'ok' | 'error500' | 'overloaded' | 'hang' | 'slow-stream' | 'stream-error' | 'no-stream'

export interface FakeRequest {
  path: string
  headers: IncomingMessage['headers']
  body: any
}

export interface FakeProvider {
  url: string
  key: string
  requests: FakeRequest[]
  mode: FakeMode
  /** The answer, streamed in these pieces. */
  pieces: string[]
  usage: { input: number; output: number }
  /** Pause between two streamed pieces in 'slow-stream' mode. */
  slowGapMs: number
  /** Requests whose client went away before the response ended. */
  aborted: number
  waitForAbort(timeoutMs?: number): Promise<boolean>
  close(): Promise<void>
}

type Kind = 'openai' | 'anthropic' | 'perplexity'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export async function startFake(kind: Kind, key = `${kind}-test-key-1234567890`): Promise<FakeProvider> {
  const fake: FakeProvider = {
    url: '',
    key,
    requests: [],
    mode: 'ok',
    pieces: ['Hello', '! I am', ' fine.\nThanks for', ' asking.'],
    usage: { input: 25, output: 12 },
    slowGapMs: 150,
    aborted: 0,
    async waitForAbort(timeoutMs = 3000) {
      const until = Date.now() + timeoutMs
      while (!fake.aborted && Date.now() < until) await sleep(10)
      return fake.aborted > 0
    },
    close: async () => {},
  }
  const created = Math.floor(Date.now() / 1000)

  const openAiError = (res: ServerResponse, status: number, message: string, type: string, code: string | null) => {
    res.writeHead(status, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ error: { message, type, param: null, code } }))
  }
  const anthropicError = (res: ServerResponse, status: number, type: string, message: string) => {
    res.writeHead(status, { 'content-type': 'application/json', 'request-id': 'req_fake' })
    res.end(JSON.stringify({ type: 'error', error: { type, message }, request_id: 'req_fake' }))
  }

  const server = createServer(async (req, res) => {
    let raw = ''
    for await (const chunk of req) raw += chunk
    const body = raw ? JSON.parse(raw) : undefined
    fake.requests.push({ path: req.url ?? '', headers: req.headers, body })
    let finished = false
    res.on('finish', () => (finished = true))
    res.on('close', () => {
      if (!finished) fake.aborted++
    })

    if (kind === 'anthropic') {
      if (req.url !== '/v1/messages') return anthropicError(res, 404, 'not_found_error', 'Not found')
      if (req.headers['x-api-key'] !== key) return anthropicError(res, 401, 'authentication_error', 'invalid x-api-key')
      if (!req.headers['anthropic-version'])
        return anthropicError(res, 400, 'invalid_request_error', 'anthropic-version header is required')
    } else {
      const path = kind === 'openai' ? '/v1/chat/completions' : '/chat/completions'
      if (req.url !== path) return openAiError(res, 404, 'Not found', 'invalid_request_error', null)
      if (req.headers.authorization !== `Bearer ${key}`) {
        return openAiError(
          res,
          401,
          `Incorrect API key provided: ${String(req.headers.authorization).slice(7, 14)}****.`,
          'invalid_request_error',
          'invalid_api_key',
        )
      }
    }
    if (fake.mode === 'hang') return // never answers; the client's timeout ends it
    if (fake.mode === 'error500') {
      return kind === 'anthropic'
        ? anthropicError(res, 500, 'api_error', 'Internal server error')
        : openAiError(
            res,
            500,
            'The server had an error while processing your request. Sorry about that!',
            'server_error',
            null,
          )
    }
    if (fake.mode === 'overloaded') return anthropicError(res, 529, 'overloaded_error', 'Overloaded')

    const text = fake.pieces.join('')
    const { input, output } = fake.usage
    if (!body?.stream || fake.mode === 'no-stream') {
      res.writeHead(200, { 'content-type': 'application/json' })
      if (kind === 'anthropic') {
        return res.end(
          JSON.stringify({
            id: 'msg_fake',
            type: 'message',
            role: 'assistant',
            model: body.model,
            content: [{ type: 'text', text }],
            stop_reason: 'end_turn',
            stop_sequence: null,
            usage: {
              input_tokens: input,
              output_tokens: output,
              cache_creation_input_tokens: 0,
              cache_read_input_tokens: 0,
            },
          }),
        )
      }
      const answer: Record<string, unknown> = {
        id: 'chatcmpl-fake',
        object: 'chat.completion',
        created,
        model: `${body.model}-2024-08-06`,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: text, refusal: null },
            logprobs: null,
            finish_reason: 'stop',
          },
        ],
        usage: { prompt_tokens: input, completion_tokens: output, total_tokens: input + output },
        system_fingerprint: 'fp_fake',
      }
      if (kind === 'perplexity') {
        answer.citations = ['https://example.org/a', 'https://example.org/b']
        answer.search_results = [{ title: 'A', url: 'https://example.org/a' }]
      }
      return res.end(JSON.stringify(answer))
    }

    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' })
    const gap = fake.mode === 'slow-stream' ? fake.slowGapMs : 5
    const send = (s: string) => res.write(s)
    const alive = () => !res.destroyed && !res.writableEnded
    if (kind === 'anthropic') {
      const ev = (name: string, data: unknown) => send(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`)
      ev('message_start', {
        type: 'message_start',
        message: {
          id: 'msg_fake',
          type: 'message',
          role: 'assistant',
          model: body.model,
          content: [],
          stop_reason: null,
          usage: { input_tokens: input, output_tokens: 1 },
        },
      })
      ev('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } })
      ev('ping', { type: 'ping' })
      for (const [i, piece] of fake.pieces.entries()) {
        await sleep(gap)
        if (!alive()) return
        if (fake.mode === 'stream-error' && i === 2) {
          ev('error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } })
          return res.end()
        }
        ev('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: piece } })
      }
      ev('content_block_stop', { type: 'content_block_stop', index: 0 })
      ev('message_delta', {
        type: 'message_delta',
        delta: { stop_reason: 'end_turn', stop_sequence: null },
        usage: { output_tokens: output },
      })
      ev('message_stop', { type: 'message_stop' })
      return res.end()
    }

    const chunk = (delta: Record<string, unknown>, finish: string | null, extra: Record<string, unknown> = {}) =>
      send(
        `data: ${JSON.stringify({
          id: 'chatcmpl-fake',
          object: 'chat.completion.chunk',
          created,
          model: body.model,
          choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
          ...extra,
        })}\n\n`,
      )
    chunk({ role: 'assistant', content: '' }, null)
    for (const [i, piece] of fake.pieces.entries()) {
      await sleep(gap)
      if (!alive()) return
      if (fake.mode === 'stream-error' && i === 2) {
        send(
          `data: ${JSON.stringify({ error: { message: 'The server had an error while processing your request.', type: 'server_error' } })}\n\n`,
        )
        return res.end()
      }
      chunk({ content: piece }, null)
    }
    const usage = { prompt_tokens: input, completion_tokens: output, total_tokens: input + output }
    if (kind === 'perplexity') {
      // Perplexity: usage and citations ride on the last chunk, and the stream just ends.
      chunk({}, 'stop', { usage, citations: ['https://example.org/a'] })
      return res.end()
    }
    chunk({}, 'stop')
    if (body.stream_options?.include_usage)
      send(
        `data: ${JSON.stringify({ id: 'chatcmpl-fake', object: 'chat.completion.chunk', created, model: body.model, choices: [], usage })}\n\n`,
      )
    send('data: [DONE]\n\n')
    res.end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  // Base URLs as each provider documents them: OpenAI's carries /v1, the others do not.
  fake.url = kind === 'openai' ? `http://127.0.0.1:${port}/v1` : `http://127.0.0.1:${port}`
  fake.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  return fake
}

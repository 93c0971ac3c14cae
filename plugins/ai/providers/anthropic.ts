/**
 * Anthropic Messages API (POST {base}/v1/messages, x-api-key, anthropic-version). Streams are
 * named events: message_start (input usage), content_block_delta (text_delta), message_delta
 * (stop_reason, cumulative output usage), message_stop, ping, error.
 */
import type { SseEvent } from '../sse.ts'
import { endpoint, genericErrorMessage, type Provider, type ProviderSettings, type StreamPiece } from './types.ts'

export const ANTHROPIC_VERSION = '2023-06-01'

const STOP: Record<string, string> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
}
const stopReason = (r: unknown) => (typeof r === 'string' ? (STOP[r] ?? r) : undefined)

/** Cached input counts as prompt tokens too. */
const INPUT_FIELDS = ['input_tokens', 'cache_creation_input_tokens', 'cache_read_input_tokens']
const inputTokens = (u: Record<string, unknown> | undefined) =>
  u ? INPUT_FIELDS.reduce((n, k) => n + (typeof u[k] === 'number' ? (u[k] as number) : 0), 0) : 0

export function anthropic(s: ProviderSettings & { defaultModel: string }): Provider {
  // ANTHROPIC_BASE_URL may be given with or without its /v1.
  const url = endpoint(
    s.baseUrl,
    new URL(s.baseUrl).pathname.replace(/\/+$/, '').endsWith('/v1') ? '/messages' : '/v1/messages',
  )
  return {
    name: 'anthropic',
    configured: Boolean(s.apiKey),
    defaultModel: s.defaultModel,
    request(req) {
      const system = req.messages
        .filter((m) => m.role === 'system')
        .map((m) => m.content)
        .join('\n\n')
      const body: Record<string, unknown> = {
        model: req.model,
        max_tokens: req.maxTokens,
        messages: req.messages.filter((m) => m.role !== 'system'),
        // Anthropic's temperature range is 0-1; requests may say up to 2 (OpenAI's range).
        temperature: Math.min(req.temperature, 1),
        stream: req.stream,
      }
      if (system) body.system = system
      return {
        url,
        headers: {
          'content-type': 'application/json',
          accept: req.stream ? 'text/event-stream' : 'application/json',
          'x-api-key': s.apiKey!,
          'anthropic-version': ANTHROPIC_VERSION,
        },
        body,
      }
    },
    parse(json) {
      const j = json as Record<string, any>
      if (!Array.isArray(j?.content)) throw new Error('no content in the answer')
      const content = j.content
        .filter((b: { type?: string }) => b?.type === 'text')
        .map((b: { text: string }) => b.text)
        .join('')
      const prompt = inputTokens(j.usage)
      const completion = typeof j.usage?.output_tokens === 'number' ? j.usage.output_tokens : 0
      return {
        content,
        finishReason: stopReason(j.stop_reason) ?? 'stop',
        usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
      }
    },
    event(ev: SseEvent): StreamPiece | undefined {
      let j: Record<string, any>
      try {
        j = JSON.parse(ev.data)
      } catch {
        return undefined
      }
      switch (ev.event ?? j.type) {
        case 'message_start': {
          const u = j.message?.usage
          return { usage: { prompt_tokens: inputTokens(u), completion_tokens: u?.output_tokens ?? 0 } }
        }
        case 'content_block_delta':
          return j.delta?.type === 'text_delta' && j.delta.text ? { text: j.delta.text } : undefined
        case 'message_delta': {
          const piece: StreamPiece = { finishReason: stopReason(j.delta?.stop_reason) }
          if (typeof j.usage?.output_tokens === 'number') piece.usage = { completion_tokens: j.usage.output_tokens }
          if (typeof j.usage?.input_tokens === 'number')
            piece.usage = { ...piece.usage, prompt_tokens: inputTokens(j.usage) }
          return piece
        }
        case 'message_stop':
          return { done: true }
        case 'error':
          return { error: genericErrorMessage(ev.data) ?? 'stream error' }
        default:
          return undefined
      }
    },
    errorMessage: genericErrorMessage,
  }
}

/**
 * OpenAI chat completions (POST {base}/chat/completions), also spoken by Perplexity, Ollama,
 * vLLM, LiteLLM and Azure's OpenAI v1 endpoint. Streams are `data: {chunk}` ... `data: [DONE]`.
 */
import type { SseEvent } from '../sse.ts'
import {
  endpoint,
  genericErrorMessage,
  type Completion,
  type Provider,
  type ProviderSettings,
  type StreamPiece,
  type Usage,
} from './types.ts'

export interface OpenAiSettings extends ProviderSettings {
  name: 'openai' | 'perplexity'
  defaultModel: string
  /** `authorization` sends `Bearer <key>`; any other header (Azure's `api-key`) carries the key as is. */
  authHeader?: string
}

/** o-series and gpt-5 models take max_completion_tokens and only their default temperature. */
const REASONING = /^(o\d|gpt-5)/i

const usageOf = (u: Record<string, unknown> | undefined): Partial<Usage> | undefined => {
  if (!u || typeof u !== 'object') return undefined
  const out: Partial<Usage> = {}
  if (typeof u.prompt_tokens === 'number') out.prompt_tokens = u.prompt_tokens
  if (typeof u.completion_tokens === 'number') out.completion_tokens = u.completion_tokens
  if (typeof u.total_tokens === 'number') out.total_tokens = u.total_tokens
  return out
}

function citationsOf(j: Record<string, any>): string[] | undefined {
  if (Array.isArray(j.citations)) return j.citations.filter((c: unknown) => typeof c === 'string')
  if (Array.isArray(j.search_results)) {
    return j.search_results
      .map((r: { url?: string }) => r?.url)
      .filter((u: unknown): u is string => typeof u === 'string')
  }
  return undefined
}

export function openAiCompatible(s: OpenAiSettings): Provider {
  const authHeader = (s.authHeader ?? 'authorization').toLowerCase()
  return {
    name: s.name,
    configured: Boolean(s.apiKey),
    defaultModel: s.defaultModel,
    request(req) {
      const body: Record<string, unknown> = { model: req.model, messages: req.messages, stream: req.stream }
      if (s.name === 'openai' && REASONING.test(req.model)) body.max_completion_tokens = req.maxTokens
      else {
        body.max_tokens = req.maxTokens
        body.temperature = req.temperature
      }
      // OpenAI reports a stream's usage only when asked, in one last chunk with empty choices.
      if (req.stream && s.name === 'openai') body.stream_options = { include_usage: true }
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        accept: req.stream ? 'text/event-stream' : 'application/json',
      }
      headers[authHeader] = authHeader === 'authorization' ? `Bearer ${s.apiKey}` : s.apiKey!
      return { url: endpoint(s.baseUrl, '/chat/completions'), headers, body }
    },
    parse(json) {
      const j = json as Record<string, any>
      const choice = j?.choices?.[0]
      if (!choice || typeof choice !== 'object') throw new Error('no choices in the answer')
      const u = usageOf(j.usage) ?? {}
      const prompt = u.prompt_tokens ?? 0
      const completion = u.completion_tokens ?? 0
      const out: Completion = {
        content: typeof choice.message?.content === 'string' ? choice.message.content : '',
        finishReason: typeof choice.finish_reason === 'string' ? choice.finish_reason : 'stop',
        usage: {
          prompt_tokens: prompt,
          completion_tokens: completion,
          total_tokens: u.total_tokens ?? prompt + completion,
        },
      }
      const citations = citationsOf(j)
      if (citations?.length) out.citations = citations
      return out
    },
    event(ev: SseEvent): StreamPiece | undefined {
      if (ev.data.trim() === '[DONE]') return { done: true }
      let j: Record<string, any>
      try {
        j = JSON.parse(ev.data)
      } catch {
        return undefined
      }
      if (j.error) return { error: genericErrorMessage(JSON.stringify(j)) ?? 'stream error' }
      const choice = j.choices?.[0]
      const piece: StreamPiece = {}
      if (typeof choice?.delta?.content === 'string' && choice.delta.content) piece.text = choice.delta.content
      if (typeof choice?.finish_reason === 'string') piece.finishReason = choice.finish_reason
      const usage = usageOf(j.usage)
      if (usage) piece.usage = usage
      return piece
    },
    errorMessage: genericErrorMessage,
  }
}

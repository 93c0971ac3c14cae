/** What every provider adapter does: build its HTTP request, read its answer, its stream events and its errors. */
import type { SseEvent } from '../sse.ts'

export const PROVIDERS = ['openai', 'anthropic', 'perplexity'] as const
export type ProviderName = (typeof PROVIDERS)[number]

export type Role = 'system' | 'user' | 'assistant'

export interface ChatMessage {
  role: Role
  content: string
}

export interface ChatRequest {
  model: string
  messages: ChatMessage[]
  temperature: number
  maxTokens: number
  stream: boolean
}

export interface Usage {
  prompt_tokens: number
  completion_tokens: number
  total_tokens: number
}

export interface Completion {
  content: string
  usage: Usage
  /** Normalised to OpenAI's words: stop, length, content_filter, tool_calls. */
  finishReason: string
  /** Perplexity's sources, when the answer has them. */
  citations?: string[]
}

/** What one upstream stream event means. Usage fields are cumulative where the provider reports them so. */
export interface StreamPiece {
  text?: string
  usage?: Partial<Usage>
  finishReason?: string
  /** The provider reported an error inside the stream. */
  error?: string
  done?: boolean
}

export interface ProviderSettings {
  apiKey?: string
  baseUrl: string
}

export interface Provider {
  readonly name: ProviderName
  readonly configured: boolean
  /** Model used when a request names this provider but no model. */
  readonly defaultModel: string
  request(req: ChatRequest): { url: string; headers: Record<string, string>; body: unknown }
  parse(json: unknown): Completion
  event(ev: SseEvent): StreamPiece | undefined
  /** The provider's own error message from an error body (JSON or not). */
  errorMessage(body: string): string | undefined
}

/** Joins a base URL (which may carry a path and a query, e.g. Azure's api-version) and a path. */
export function endpoint(base: string, path: string): string {
  const u = new URL(base)
  u.pathname = `${u.pathname.replace(/\/+$/, '')}${path}`
  return u.toString()
}

/** `{"error": {"message"}}` (OpenAI, Perplexity, Anthropic's `{"type":"error","error":{...}}`), `{"message"}`, `{"detail"}`, or text. */
export function genericErrorMessage(body: string): string | undefined {
  try {
    const j = JSON.parse(body) as Record<string, any>
    const m = j?.error?.message ?? (typeof j?.error === 'string' ? j.error : undefined) ?? j?.message ?? j?.detail
    if (typeof m === 'string') return m
    if (m) return JSON.stringify(m)
  } catch {
    // not JSON: an HTML error page from a proxy, or plain text
  }
  const text = body
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
  return text || undefined
}

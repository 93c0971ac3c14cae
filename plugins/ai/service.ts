/**
 * AI completions over the providers' HTTP APIs: provider and model resolution, the 503/502/422
 * rules of docs/plugins/ai.md, latency, and metering of `ai_requests` and `ai_tokens` per model.
 * Streaming lives in stream.ts.
 */
import {
  badRequest,
  externalServiceError,
  serviceUnavailable,
  tracedFetch,
  validation,
  type Logger,
  type MeterFn,
} from '../../core/index.ts'
import type { ChatMessage, ChatRequest, Completion, Provider, ProviderName, Usage } from './providers/types.ts'
import { relayStream } from './stream.ts'

export const COMPLEXITIES = ['simple', 'moderate', 'complex', 'search'] as const
export type Complexity = (typeof COMPLEXITIES)[number]

export interface Target {
  provider: ProviderName
  model: string
}

export interface AiSettings {
  defaultProvider: ProviderName
  defaultModel: string
  routes: Record<Complexity, Target>
  /** Empty = any model. */
  allowedModels: string[]
  maxInputChars: number
  /** Upper bound of max_tokens; also caps the default of 1000. */
  maxTokens: number
  timeoutMs: number
}

export interface AiDeps {
  providers: Record<ProviderName, Provider>
  settings: AiSettings
  meter: MeterFn
  logger: Logger
  /** API keys, masked out of every error message. */
  secrets?: string[]
  /** Counts upstream calls by provider and outcome (Prometheus). */
  count?: (provider: ProviderName, outcome: 'ok' | 'error' | 'timeout' | 'aborted') => void
}

export interface CompletionInput {
  messages: ChatMessage[]
  model?: string
  provider?: ProviderName
  temperature?: number
  max_tokens?: number
}

export interface CompletionResult {
  content: string
  model: string
  provider: ProviderName
  usage: Usage
  finish_reason: string
  latency_ms: number
  citations?: string[]
}

/** Which provider serves a model when the request does not say (the rest go to the default provider). */
export function providerOfModel(model: string): ProviderName | undefined {
  if (/^claude/i.test(model)) return 'anthropic'
  if (/^(sonar|r1-1776|llama-3\.1-sonar)/i.test(model)) return 'perplexity'
  if (/^(gpt-|o\d|chatgpt-)/i.test(model)) return 'openai'
  return undefined
}

const round1 = (ms: number) => Math.round(ms * 10) / 10

export function createAiService(d: AiDeps) {
  const { settings, providers } = d
  const configuredModels = new Set([settings.defaultModel, ...Object.values(settings.routes).map((r) => r.model)])

  /** Secrets never reach a client: the configured key, and anything shaped like a key. */
  const redact = (text: string) => {
    let out = text
    for (const key of d.secrets ?? []) if (key) out = out.split(key).join('***')
    return out.replace(/\b(sk|pk|pplx|key)-[A-Za-z0-9_*-]{6,}/g, '$1-***').slice(0, 300)
  }

  function check(input: CompletionInput) {
    const chars = input.messages.reduce((n, m) => n + m.content.length, 0)
    if (chars > settings.maxInputChars) {
      throw validation('messages', `Messages may hold at most ${settings.maxInputChars} characters in total`)
    }
    if (!input.messages.some((m) => m.role === 'user'))
      throw validation('messages', 'At least one user message is required')
    return chars
  }

  function resolve(input: { model?: string; provider?: ProviderName }): { provider: Provider; model: string } {
    const name = input.provider ?? (input.model ? providerOfModel(input.model) : undefined) ?? settings.defaultProvider
    const provider = providers[name]
    const model = input.model ?? (name === settings.defaultProvider ? settings.defaultModel : provider.defaultModel)
    if (settings.allowedModels.length && !settings.allowedModels.includes(model) && !configuredModels.has(model)) {
      throw validation('model', `Model ${model} is not allowed here`)
    }
    if (!provider.configured) {
      throw serviceUnavailable(`AI provider ${name} is not configured`, {
        provider: name,
        missing: `${name.toUpperCase()}_API_KEY`,
      })
    }
    return { provider, model }
  }

  function upstreamError(name: ProviderName, status: number | undefined, message: string | undefined) {
    return externalServiceError(
      redact(`${name} request failed${status ? ` (HTTP ${status})` : ''}: ${message ?? 'no details'}`),
      {
        provider: name,
        ...(status ? { upstream_status: status } : {}),
      },
    )
  }

  /** POSTs to the provider; a network failure or the timeout is a 502 (never the client's abort). */
  async function send(provider: Provider, req: ChatRequest, signal: AbortSignal, timedOut: () => boolean) {
    const { url, headers, body } = provider.request(req)
    try {
      return await tracedFetch(url, { method: 'POST', headers, body: JSON.stringify(body), signal, redirect: 'error' })
    } catch (err) {
      if (timedOut()) {
        d.count?.(provider.name, 'timeout')
        throw upstreamError(provider.name, undefined, `no answer within ${settings.timeoutMs} ms`)
      }
      if (signal.aborted) {
        // The caller went away: nobody reads this answer, and it is not the provider's failure.
        d.count?.(provider.name, 'aborted')
        throw badRequest('The client closed the request')
      }
      d.count?.(provider.name, 'error')
      throw upstreamError(provider.name, undefined, `unreachable (${(err as Error).message})`)
    }
  }

  async function refuse(provider: Provider, res: Response): Promise<never> {
    d.count?.(provider.name, 'error')
    const text = await res.text().catch(() => '')
    d.logger.warn('AI provider refused a request', { provider: provider.name, status: res.status, body: redact(text) })
    throw upstreamError(provider.name, res.status, provider.errorMessage(text) ?? res.statusText)
  }

  const meterUsage = (userId: string, model: string, tokens: number) => {
    d.meter(userId, 'ai_requests', 1, { model })
    d.meter(userId, 'ai_tokens', tokens, { model })
  }

  return {
    status() {
      const configured = (Object.keys(providers) as ProviderName[]).filter((n) => providers[n].configured)
      return {
        available: configured.length > 0,
        providers: configured,
        default_provider: settings.defaultProvider,
        default_model: settings.defaultModel,
        routing: settings.routes,
      }
    },

    routeOf: (complexity: Complexity) => settings.routes[complexity],

    async complete(userId: string, input: CompletionInput, clientSignal?: AbortSignal): Promise<CompletionResult> {
      check(input)
      const { provider, model } = resolve(input)
      const req = toRequest(input, model, false, settings.maxTokens)
      let timedOut = false
      const timer = new AbortController()
      const clock = setTimeout(() => {
        timedOut = true
        timer.abort()
      }, settings.timeoutMs)
      const signal = clientSignal ? AbortSignal.any([timer.signal, clientSignal]) : timer.signal
      const started = performance.now()
      try {
        const res = await send(provider, req, signal, () => timedOut)
        if (!res.ok) return await refuse(provider, res)
        let completion: Completion
        try {
          completion = provider.parse(await res.json())
        } catch (err) {
          if (timedOut) throw upstreamError(provider.name, undefined, `no answer within ${settings.timeoutMs} ms`)
          d.count?.(provider.name, 'error')
          throw upstreamError(provider.name, res.status, `unreadable answer (${(err as Error).message})`)
        }
        d.count?.(provider.name, 'ok')
        meterUsage(userId, model, completion.usage.total_tokens)
        const out: CompletionResult = {
          content: completion.content,
          model,
          provider: provider.name,
          usage: completion.usage,
          finish_reason: completion.finishReason,
          latency_ms: round1(performance.now() - started),
        }
        if (completion.citations) out.citations = completion.citations
        return out
      } finally {
        clearTimeout(clock)
      }
    },

    /** SSE relay: errors before the first byte are thrown (JSON 4xx/5xx); later ones end the stream. */
    async stream(userId: string, input: CompletionInput, clientSignal?: AbortSignal): Promise<Response> {
      const inputChars = check(input)
      const { provider, model } = resolve(input)
      return relayStream({
        provider,
        model,
        request: toRequest(input, model, true, settings.maxTokens),
        timeoutMs: settings.timeoutMs,
        clientSignal,
        inputChars,
        logger: d.logger,
        send: (req, signal, timedOut) => send(provider, req, signal, timedOut),
        refuse: (res) => refuse(provider, res),
        upstreamError: (status, message) => upstreamError(provider.name, status, message),
        redact,
        count: (outcome) => d.count?.(provider.name, outcome),
        meter: (tokens) => meterUsage(userId, model, tokens),
      })
    },
  }
}

export type AiService = ReturnType<typeof createAiService>

/** Seed 004 defaults: temperature 0.7, max_tokens 1000. */
function toRequest(input: CompletionInput, model: string, stream: boolean, maxTokens: number): ChatRequest {
  return {
    model,
    messages: input.messages,
    temperature: input.temperature ?? 0.7,
    maxTokens: input.max_tokens ?? Math.min(1000, maxTokens),
    stream,
  }
}

/** AI: completions, chat and routed chat over OpenAI, Anthropic and Perplexity HTTP APIs, with SSE streaming and token metering (docs/plugins/ai.md). */
import { definePlugin, env, type InferConfig, type PluginContext } from '../../core/index.ts'
import { aiDoctor } from './doctor.ts'
import { anthropic } from './providers/anthropic.ts'
import { openAiCompatible } from './providers/openai.ts'
import { PROVIDERS, type Provider, type ProviderName } from './providers/types.ts'
import { aiRoutes } from './routes.ts'
import { COMPLEXITIES, createAiService, type Complexity, type Target } from './service.ts'

export type { AiService, CompletionInput, CompletionResult } from './service.ts'

const DEFAULT_MODELS: Record<ProviderName, string> = {
  openai: 'gpt-4o',
  anthropic: 'claude-sonnet-4-5',
  perplexity: 'sonar',
}

/** `provider:model`; only the first colon splits, so Ollama's `llama3:8b` survives. */
const target = (name: string, fallback: string) =>
  env.custom(
    name,
    `provider:model with provider one of ${PROVIDERS.join(', ')}`,
    (raw): Target => {
      const i = raw.indexOf(':')
      const provider = raw.slice(0, i) as ProviderName
      const model = raw.slice(i + 1).trim()
      if (i < 1 || !PROVIDERS.includes(provider) || !model) throw new Error('bad target')
      return { provider, model }
    },
    {
      default: { provider: fallback.split(':')[0] as ProviderName, model: fallback.slice(fallback.indexOf(':') + 1) },
      show: (v) => `${v.provider}:${v.model}`,
    },
  )

const BASE_URLS: Record<ProviderName, string> = {
  openai: 'https://api.openai.com/v1',
  anthropic: 'https://api.anthropic.com',
  perplexity: 'https://api.perplexity.ai',
}
const url = (name: string, provider: ProviderName, description: string) =>
  env.url(name, { protocols: ['http', 'https'], default: BASE_URLS[provider], description })

const config = {
  openaiKey: env.secret('OPENAI_API_KEY', {
    description: 'OpenAI (or OpenAI-compatible gateway) key; unset = provider unavailable',
  }),
  openaiBaseUrl: url('OPENAI_BASE_URL', 'openai', 'e.g. http://localhost:11434/v1 for Ollama'),
  openaiAuthHeader: env.string('OPENAI_AUTH_HEADER', {
    default: 'authorization',
    description: 'authorization (Bearer) or api-key (Azure)',
  }),
  anthropicKey: env.secret('ANTHROPIC_API_KEY', { description: 'Anthropic key; unset = provider unavailable' }),
  anthropicBaseUrl: url('ANTHROPIC_BASE_URL', 'anthropic', 'Messages API base (with or without /v1)'),
  perplexityKey: env.secret('PERPLEXITY_API_KEY', { description: 'Perplexity key; unset = provider unavailable' }),
  perplexityBaseUrl: url('PERPLEXITY_BASE_URL', 'perplexity', 'OpenAI-compatible base'),
  defaultProvider: env.oneOf('AI_DEFAULT_PROVIDER', PROVIDERS, {
    description: 'unset = the first provider with a key (openai, anthropic, perplexity)',
  }),
  defaultModel: env.string('AI_DEFAULT_MODEL', {
    description: "unset = the default provider's: gpt-4o, claude-sonnet-4-5, sonar",
  }),
  routeSimple: target('AI_ROUTE_SIMPLE', 'openai:gpt-4o-mini'),
  routeModerate: target('AI_ROUTE_MODERATE', 'openai:gpt-4o'),
  routeComplex: target('AI_ROUTE_COMPLEX', 'anthropic:claude-sonnet-4-5'),
  routeSearch: target('AI_ROUTE_SEARCH', 'perplexity:sonar'),
  allowedModels: env.list('AI_ALLOWED_MODELS', {
    description: 'Models a request may name; unset = any (configured ones always pass)',
  }),
  maxTokens: env.int('AI_MAX_TOKENS', {
    default: 4096,
    min: 1,
    max: 1_000_000,
    description: 'Largest max_tokens a request may ask',
  }),
  maxMessages: env.int('AI_MAX_MESSAGES', { default: 50, min: 1, max: 1000, description: 'Messages per request' }),
  maxInputChars: env.int('AI_MAX_INPUT_CHARS', {
    default: 100_000,
    min: 100,
    description: 'Characters of all messages of a request',
  }),
  timeoutMs: env.int('AI_TIMEOUT_MS', {
    default: 60_000,
    min: 100,
    description: 'Until the provider answers, then the longest silence in a stream',
  }),
}

type AiConfig = InferConfig<typeof config>

const keysOf = (c: AiConfig): Record<ProviderName, string | undefined> => ({
  openai: c.openaiKey,
  anthropic: c.anthropicKey,
  perplexity: c.perplexityKey,
})
const routesOf = (c: AiConfig): Record<Complexity, Target> => ({
  simple: c.routeSimple,
  moderate: c.routeModerate,
  complex: c.routeComplex,
  search: c.routeSearch,
})

function build(c: AiConfig, ctx: Pick<PluginContext, 'meter' | 'metrics' | 'logger'>) {
  const providers: Record<ProviderName, Provider> = {
    openai: openAiCompatible({
      name: 'openai',
      apiKey: c.openaiKey,
      baseUrl: c.openaiBaseUrl ?? BASE_URLS.openai,
      authHeader: c.openaiAuthHeader,
      defaultModel: DEFAULT_MODELS.openai,
    }),
    anthropic: anthropic({
      apiKey: c.anthropicKey,
      baseUrl: c.anthropicBaseUrl ?? BASE_URLS.anthropic,
      defaultModel: DEFAULT_MODELS.anthropic,
    }),
    perplexity: openAiCompatible({
      name: 'perplexity',
      apiKey: c.perplexityKey,
      baseUrl: c.perplexityBaseUrl ?? BASE_URLS.perplexity,
      defaultModel: DEFAULT_MODELS.perplexity,
    }),
  }
  const defaultProvider = c.defaultProvider ?? PROVIDERS.find((p) => providers[p].configured) ?? 'openai'
  const counter = ctx.metrics.counter('ai_upstream_requests_total', 'Requests to AI providers', ['provider', 'outcome'])
  return createAiService({
    providers,
    meter: ctx.meter,
    logger: ctx.logger,
    secrets: Object.values(keysOf(c)).filter((k): k is string => Boolean(k)),
    count: (provider, outcome) => counter.inc({ provider, outcome }),
    settings: {
      defaultProvider,
      defaultModel: c.defaultModel ?? DEFAULT_MODELS[defaultProvider],
      routes: routesOf(c),
      allowedModels: c.allowedModels,
      maxInputChars: c.maxInputChars,
      maxTokens: c.maxTokens,
      timeoutMs: c.timeoutMs,
    },
  })
}

export default definePlugin({
  name: 'ai',
  tag: { name: 'AI', description: 'Completions over OpenAI, Anthropic and Perplexity' },
  config,
  doctor: aiDoctor,
  setup: (ctx) => {
    const { config, logger } = ctx
    const service = build(config, ctx)
    return {
      service,
      routes: { app: (r) => aiRoutes(r, config, service) },
      start: () => {
        const keys = keysOf(config)
        const routes = routesOf(config)
        const missing = COMPLEXITIES.filter((k) => !keys[routes[k].provider])
        // Said once at start rather than discovered as a 503 in production.
        if (missing.length && missing.length < COMPLEXITIES.length) {
          logger.warn('routed chat: these complexities name a provider without a key and will answer 503', {
            complexities: missing,
          })
        }
      },
    }
  },
})

/** AI routes (docs/plugins/ai.md): status, completions, chat and routed chat; `stream: true` answers SSE, never enveloped. */
import type { RouteContext } from '../../core/index.ts'
import type { ChatMessage, ProviderName } from './providers/types.ts'
import { aiModels, type Limits } from './schema.ts'
import type { AiService, CompletionResult, Complexity } from './service.ts'

interface ChatBody {
  prompt: string
  system?: string
  model?: string
  provider?: ProviderName
  temperature?: number
  max_tokens?: number
  stream?: boolean
}

const toMessages = ({ prompt, system }: { prompt: string; system?: string }): ChatMessage[] =>
  system
    ? [
        { role: 'system', content: system },
        { role: 'user', content: prompt },
      ]
    : [{ role: 'user', content: prompt }]

const streamNote = 'With stream: true the answer is text/event-stream (data: <text> ... data: [DONE]), not enveloped.'

/** Besides the completion (`response`): the SSE stream of `stream: true`, and the provider's failure. */
const responses = {
  200: {
    description: 'The completion, or with `stream: true` its text as server-sent events',
    content: { 'text/event-stream': { schema: { type: 'string' as const } } },
  },
  502: { description: 'The provider failed or timed out (EXTERNAL_SERVICE_ERROR)' },
}

export function aiRoutes({ router }: RouteContext, limits: Limits, ai: AiService) {
  const m = aiModels(limits)
  const run = (
    userId: string,
    input: Parameters<AiService['complete']>[1],
    stream: boolean | undefined,
    signal: AbortSignal,
  ) => (stream ? ai.stream(userId, input, signal) : ai.complete(userId, input, signal))

  return router('/ai')
    .get('/status', () => ai.status(), {
      scope: 'ai:use',
      response: { 200: m.status },
      detail: { summary: 'Configured providers, defaults and the routed-chat table' },
    })
    .post('/completions', ({ user, body, request }) => run(user.id, body, body.stream, request.signal), {
      scope: 'ai:use',
      body: m.completions,
      response: { 200: m.completion },
      detail: {
        summary: 'Chat completion',
        description: `503 when the provider has no key; 502 when it fails or times out. ${streamNote}`,
        responses,
      },
    })
    .post(
      '/chat',
      ({ user, body, request }) => {
        const b = body as ChatBody
        const input = {
          messages: toMessages(b),
          model: b.model,
          provider: b.provider,
          temperature: b.temperature,
          max_tokens: b.max_tokens,
        }
        return run(user.id, input, b.stream, request.signal)
      },
      {
        scope: 'ai:use',
        body: m.chat,
        response: { 200: m.completion },
        detail: {
          summary: 'Simple chat: a prompt and an optional system instruction',
          description: streamNote,
          responses,
        },
      },
    )
    .post(
      '/chat/routed',
      ({ user, body, request }) => {
        const complexity: Complexity = body.complexity ?? 'moderate'
        const target = ai.routeOf(complexity)
        const input = {
          messages: toMessages(body),
          ...target,
          temperature: body.temperature,
          max_tokens: body.max_tokens,
        }
        if (body.stream) return ai.stream(user.id, input, request.signal)
        const answer: Promise<CompletionResult & { complexity: string }> = ai
          .complete(user.id, input, request.signal)
          .then((r) => ({ ...r, complexity }))
        return answer
      },
      {
        scope: 'ai:use',
        body: m.routed,
        response: { 200: m.completion },
        detail: {
          summary: 'Routed chat: complexity picks provider and model',
          description:
            'Default table: simple gpt-4o-mini, moderate gpt-4o, complex claude-sonnet-4-5, search Perplexity sonar ' +
            `(AI_ROUTE_*). ${streamNote}`,
          responses,
        },
      },
    )
}

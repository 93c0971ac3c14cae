/** TypeBox models of the AI routes (docs/plugins/ai.md); bounds come from the configuration. */
import { t } from '../../core/index.ts'
import { PROVIDERS } from './providers/types.ts'
import { COMPLEXITIES } from './service.ts'

export interface Limits {
  maxTokens: number
  maxMessages: number
  maxInputChars: number
}

const literals = <T extends string>(values: readonly T[], description: string) =>
  t.Union(values.map((v) => t.Literal(v)) as never as [ReturnType<typeof t.Literal<T>>], { description })

export function aiModels(l: Limits) {
  const text = (description: string) => t.String({ minLength: 1, maxLength: l.maxInputChars, description })
  const tuning = {
    temperature: t.Optional(
      t.Number({ minimum: 0, maximum: 2, description: 'Creativity (0-2), default 0.7; Anthropic caps it at 1' }),
    ),
    max_tokens: t.Optional(
      t.Integer({
        minimum: 1,
        maximum: l.maxTokens,
        description: `Max response tokens (1-${l.maxTokens}), default 1000`,
      }),
    ),
    stream: t.Optional(t.Boolean({ description: 'Server-Sent Events: data: <text> ... data: [DONE]' })),
  }
  const choice = {
    model: t.Optional(
      t.String({
        minLength: 1,
        maxLength: 100,
        pattern: '^[A-Za-z0-9][A-Za-z0-9._:/@-]*$',
        description: 'Model to use; claude-* goes to Anthropic, sonar* to Perplexity, others to the default provider',
      }),
    ),
    provider: t.Optional(literals(PROVIDERS, 'Provider to use (default: from the model, else AI_DEFAULT_PROVIDER)')),
  }
  const usage = t.Object({ prompt_tokens: t.Integer(), completion_tokens: t.Integer(), total_tokens: t.Integer() })
  const target = t.Object({ provider: t.String(), model: t.String() })

  return {
    completions: t.Object({
      messages: t.Array(
        t.Object({
          role: literals(['system', 'user', 'assistant'] as const, 'system, user, or assistant'),
          content: text('Message content'),
        }),
        {
          minItems: 1,
          maxItems: l.maxMessages,
          description: `Chat messages (1-${l.maxMessages}, ${l.maxInputChars} characters in all)`,
        },
      ),
      ...choice,
      ...tuning,
    }),
    chat: t.Object({
      prompt: text('User prompt'),
      system: t.Optional(text('System instruction')),
      ...choice,
      ...tuning,
    }),
    routed: t.Object({
      prompt: text('User prompt'),
      system: t.Optional(text('System instruction')),
      complexity: t.Optional(
        literals(COMPLEXITIES, 'simple, moderate (default), complex or search: picks provider and model'),
      ),
      ...tuning,
    }),
    completion: t.Object({
      content: t.String(),
      model: t.String(),
      provider: t.String(),
      usage,
      finish_reason: t.String(),
      latency_ms: t.Number(),
      complexity: t.Optional(t.String()),
      citations: t.Optional(t.Array(t.String())),
    }),
    status: t.Object({
      available: t.Boolean(),
      providers: t.Array(t.String()),
      default_provider: t.String(),
      default_model: t.String(),
      routing: t.Object({ simple: target, moderate: target, complex: target, search: target }),
    }),
  }
}

/** `npm run doctor` for ai: which providers have a key, and the default provider is one of them. No provider is called. */
import { doctor, type DoctorCheck, type DoctorContext } from '../../core/index.ts'
import type { ProviderName } from './providers/types.ts'

interface Config {
  openaiKey?: string
  anthropicKey?: string
  perplexityKey?: string
  defaultProvider?: ProviderName
}

export function aiDoctor({ config }: DoctorContext<Config>): DoctorCheck[] {
  const keys: Record<ProviderName, string | undefined> = {
    openai: config.openaiKey,
    anthropic: config.anthropicKey,
    perplexity: config.perplexityKey,
  }
  const ready = (Object.keys(keys) as ProviderName[]).filter((p) => keys[p])
  if (!ready.length)
    return [
      doctor.warn(
        'providers',
        'no OPENAI_API_KEY, ANTHROPIC_API_KEY or PERPLEXITY_API_KEY: /app/ai answers 503',
        'set the key of at least one provider (docs/plugins/ai.md), or remove the plugin from the starter',
      ),
    ]
  if (config.defaultProvider && !keys[config.defaultProvider])
    return [
      doctor.fail(
        'AI_DEFAULT_PROVIDER',
        `${config.defaultProvider} has no key (keys set: ${ready.join(', ')})`,
        `set the ${config.defaultProvider} key, or AI_DEFAULT_PROVIDER to one of ${ready.join(', ')}`,
      ),
    ]
  return [doctor.pass('providers', `keys set: ${ready.join(', ')}`)]
}

/**
 * Dashboard statistics contributed by plugins (the admin dashboard reads them): each plugin adds
 * the sections it owns, so an absent plugin contributes nothing and the reader depends on no
 * plugin's tables. Two contributors of one section are merged (numbers add up).
 */
import type { Logger } from '../observability/index.ts'

export type StatsSection = Record<string, unknown>
export type StatsContributor = () => Promise<StatsSection> | StatsSection

export interface StatsRegistry {
  /** Adds a contributor of `section` (e.g. 'users', 'subscriptions', 'webhooks', 'jobs'). */
  contribute(section: string, contributor: StatsContributor): void
  /** Every section, contributors run in parallel; a failing one is logged and left out. */
  collect(): Promise<Record<string, StatsSection>>
}

export function createStatsRegistry(logger: Logger): StatsRegistry {
  const sources: { section: string; contributor: StatsContributor }[] = []
  return {
    contribute(section, contributor) {
      sources.push({ section, contributor })
    },
    async collect() {
      const results = await Promise.all(
        sources.map(async ({ section, contributor }) => {
          try {
            return { section, value: await contributor() }
          } catch (err) {
            logger.error('dashboard stats contributor failed', { section, error: err })
            return undefined
          }
        }),
      )
      const out: Record<string, StatsSection> = {}
      for (const r of results) if (r) out[r.section] = merge(out[r.section] ?? {}, r.value)
      return out
    },
  }
}

/** Numbers add up, objects merge recursively, anything else: the later contributor wins. */
export function merge(a: StatsSection, b: StatsSection): StatsSection {
  const out: StatsSection = { ...a }
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k]
    if (typeof prev === 'number' && typeof v === 'number') out[k] = prev + v
    else if (isObject(prev) && isObject(v)) out[k] = merge(prev, v)
    else out[k] = v
  }
  return out
}

const isObject = (v: unknown): v is StatsSection =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date)

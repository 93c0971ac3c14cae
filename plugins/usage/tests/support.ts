/** Usage test helpers: a settable clock and an app with the usage plugin (rate limits out of the way). */
import { definePlugin } from '../../../core/index.ts'
import { testApp, type TestApp } from '../../../core/testing/index.ts'
import { createUsagePlugin, type UsageService } from '../index.ts'

export interface Clock {
  now: () => Date
  set(iso: string): void
}

export function clock(iso: string): Clock {
  let at = new Date(iso)
  return { now: () => at, set: (next) => void (at = new Date(next)) }
}

/** Reads the dashboard sections the way the admin plugin does (the app does not expose the registry). */
export const statsProbe = definePlugin({ name: 'test-stats-probe', setup: ({ stats }) => ({ service: stats }) })
export const statsOf = (t: TestApp) => t.app.service(statsProbe).collect()

export async function usageApp(
  c: Clock,
  env: Record<string, string> = {},
): Promise<{ t: TestApp; usage: UsageService }> {
  const usage = createUsagePlugin({ now: c.now })
  const t = await testApp({
    plugins: [usage, statsProbe],
    env: { RATE_LIMIT_DEFAULT: '100000/minute', USAGE_FLUSH_INTERVAL_MS: '600000', ...env },
  })
  return { t, usage: t.app.service(usage) }
}

/** Records `value` of `metric` for `user` at `iso`. */
export const at = (
  usage: UsageService,
  user: string,
  metric: string,
  value: number,
  iso: string,
  dimensions: Record<string, string> = {},
) => usage.record({ userId: user, metric, value, dimensions, at: new Date(iso) })

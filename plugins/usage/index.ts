/** Usage: the sink of the core meter() (buffered, batched, idempotent) and the Usage endpoints of docs/plugins/usage.md. */
import { definePlugin, env, type MeterEvent } from '../../core/index.ts'
import { usageAdminRoutes, usageAppRoutes } from './routes.ts'
import { createUsageQueries, type UsageQueries } from './service.ts'
import { createUsageSink, sqlWriter } from './sink.ts'

export { METRICS, METRIC_KEYS, type MetricInfo, type MetricKey } from './metrics.ts'
export type { UsageQueries, UsageSummary, UsageTrend } from './service.ts'

export interface UsageService extends UsageQueries {
  /** Records an event as meter() does, with an explicit time (imports, tests). */
  record(event: Omit<MeterEvent, 'at' | 'dimensions'> & { at?: Date; dimensions?: Record<string, string> }): void
  /** Writes everything buffered now (the core also calls it at shutdown). */
  flush(): Promise<void>
  /** Events waiting for the next flush on this replica. */
  readonly pending: number
}

export interface UsagePluginOptions {
  /** Clock of the read side (periods, days); tests inject one. */
  now?: () => Date
}

export function createUsagePlugin(options: UsagePluginOptions = {}) {
  const now = options.now ?? (() => new Date())

  return definePlugin({
    name: 'usage',
    tag: { name: 'Usage', description: 'API usage, AI tokens, storage and other metered metrics' },
    config: {
      flushIntervalMs: env.int('USAGE_FLUSH_INTERVAL_MS', {
        default: 5000,
        min: 100,
        description: 'how often each replica writes its buffered usage (one statement per interval)',
      }),
      maxBuffered: env.int('USAGE_MAX_BUFFERED_EVENTS', {
        default: 100_000,
        min: 100,
        description: 'buffered events that trigger a write before the interval ends',
      }),
      idRetentionDays: env.int('USAGE_EVENT_ID_RETENTION_DAYS', {
        default: 35,
        min: 1,
        description: 'how long event ids are remembered: a retry within it counts once',
      }),
    },
    migrations: new URL('./migrations/', import.meta.url),
    setup: ({ sql, config, logger, stats }) => {
      const sink = createUsageSink({
        write: sqlWriter(sql),
        intervalMs: config.flushIntervalMs,
        maxBuffered: config.maxBuffered,
        logger,
      })
      const queries = createUsageQueries(sql, now)
      const service: UsageService = Object.defineProperties(queries, {
        record: {
          value: (e: Parameters<UsageService['record']>[0]) =>
            sink.record({ ...e, dimensions: e.dimensions ?? {}, at: e.at ?? new Date() }),
        },
        flush: { value: () => sink.flush() },
        pending: { get: () => sink.pending },
      }) as UsageService
      stats.contribute('usage', () => queries.stats())
      return {
        service,
        routes: {
          app: (r) => usageAppRoutes(r, service),
          admin: (r) => usageAdminRoutes(r, service),
        },
        jobs: {
          'usage.purge-event-ids': async () => {
            await sql`delete from usage_events where created_at < now() - make_interval(days => ${config.idRetentionDays}::int)`
          },
        },
        schedules: [{ job: 'usage.purge-event-ids', cron: '23 3 * * *' }],
        // The core's meter() writes here (the core registers it at setup).
        meterSink: sink,
        start: () => sink.start(),
        // The core flushes the sink after every plugin stopped (and before the database closes).
        stop: () => sink.stop(),
      }
    },
  })
}

export default createUsagePlugin()

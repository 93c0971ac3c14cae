/** Feature flags: admin CRUD and check, the caller's flags, and isEnabled() for other plugins (docs/plugins/feature-flags.md). */
import { definePlugin, env } from '../../core/index.ts'
import { flagAdminRoutes, flagAppRoutes } from './routes.ts'
import { CHANGED, createFeatureFlags, type FeatureFlagsService } from './service.ts'
import { createFlagStore } from './store.ts'

export { rolloutBucket, FLAG_TYPES, REASONS, type Evaluation, type FlagType, type Reason } from './evaluate.ts'
export {
  DEFAULT_PLAN,
  type EvaluateOptions,
  type FeatureFlagsService,
  type FlagSubject,
  type PlanResolver,
} from './service.ts'
export type { FlagView } from './store.ts'

declare module '../../core/index.ts' {
  interface EventMap {
    /** A flag was created, updated or deleted: every replica reloads its flags. */
    'feature_flag.changed': { id: string; key: string; action: string }
  }
}

export interface FeatureFlagsPluginOptions {
  /** Clock of evaluation (expires_at); tests inject one. */
  now?: () => Date
}

export function createFeatureFlagsPlugin(options: FeatureFlagsPluginOptions = {}) {
  const now = options.now ?? (() => new Date())
  return definePlugin({
    name: 'feature-flags',
    tag: { name: 'Feature Flags', description: "Feature flags: admin management and the caller's evaluated flags" },
    config: {
      refreshMs: env.int('FEATURE_FLAGS_REFRESH_MS', {
        default: 30_000,
        min: 0,
        description: 'periodic reload of the flag cache, a safety net for missed change events (0 = off)',
      }),
    },
    migrations: new URL('./migrations/', import.meta.url),
    setup: (ctx) => {
      const flags = createFeatureFlags({
        store: createFlagStore(ctx.sql, ctx.audit),
        events: ctx.events,
        logger: ctx.logger,
        now,
        refreshMs: ctx.config.refreshMs,
      })
      ctx.stats.contribute('feature_flags', () => flags.stats())
      const { isEnabled, evaluate, evaluateAll, setPlanResolver, reload } = flags
      const service: FeatureFlagsService = { isEnabled, evaluate, evaluateAll, setPlanResolver, reload }
      return {
        service,
        routes: {
          admin: (r) => flagAdminRoutes(r, flags, r.audit),
          app: (r) => flagAppRoutes(r, flags),
        },
        on: {
          [CHANGED]: () => flags.reload(),
          // Published (broadcast) by the billing plugin when installed: the user's new plan applies at once.
          'subscription.updated': (payload) => {
            const p = payload as { user_id?: unknown; plan?: unknown } | null
            if (typeof p?.user_id === 'string') flags.planChanged(p.user_id, typeof p.plan === 'string' ? p.plan : null)
          },
          // The same for an organization's plan, which its members share.
          'org_subscription.updated': (payload) => {
            const p = payload as { org_id?: unknown; plan?: unknown } | null
            if (typeof p?.org_id === 'string')
              flags.orgPlanChanged(p.org_id, typeof p.plan === 'string' ? p.plan : null)
          },
        },
        start: () => flags.start(),
        stop: () => flags.stop(),
      }
    },
  })
}

export default createFeatureFlagsPlugin()

/** Admin: user management, jobs, dashboard stats, audit logs, impersonation and inbound webhook events (docs/plugins/admin.md, docs/auth.md#audit-log). */
import { definePlugin, env } from '../../core/index.ts'
import users from '../users/index.ts'
import { createImpersonation } from './impersonation.ts'
import { adminRoutes, type AdminDeps } from './routes.ts'
import { webhookEventRoutes } from './webhook-events.ts'
import { createAdminUsers } from './users.ts'

export type { AdminUsersService } from './users.ts'
export type { ImpersonationService } from './impersonation.ts'

/** What dependents get as `ctx.deps.admin` (and `app.service(admin)`). */
export type AdminService = Omit<AdminDeps, 'users'>

declare module '../../core/index.ts' {
  interface EventMap {
    /** An impersonation session was stopped (broadcast): `id` is the session (the token's jti). */
    'impersonation.ended': { id: string }
  }
}

export default definePlugin({
  name: 'admin',
  dependsOn: { users },
  tag: { name: 'Admin', description: 'Users, jobs, dashboard, audit logs and impersonation (admins only)' },
  config: {
    impersonationSecret: env.secret('IMPERSONATION_SECRET', {
      minLength: 32,
      description:
        'HS256 secret of impersonation tokens (same on every replica); unset = generated once and kept in the database',
    }),
    impersonationTtlMinutes: env.int('IMPERSONATION_TTL_MINUTES', {
      default: 60,
      min: 1,
      max: 60,
      description: 'lifetime of an impersonation token',
    }),
    impersonationRequireReason: env.bool('IMPERSONATION_REQUIRE_REASON', {
      default: false,
      description:
        'require a `reason` on POST /admin/impersonate/start (422 without one); by default it is optional and recorded when given',
    }),
  },
  migrations: new URL('./migrations/', import.meta.url),
  setup: (ctx) => {
    const deps: AdminDeps = {
      users: ctx.deps.users,
      adminUsers: createAdminUsers(ctx, ctx.deps.users),
      impersonation: createImpersonation(ctx, {
        secret: ctx.config.impersonationSecret,
        ttlMinutes: ctx.config.impersonationTtlMinutes,
        requireReason: ctx.config.impersonationRequireReason,
        isServiceUser: ctx.deps.users.isServiceUser,
      }),
    }
    // The job queue is the core's: its counts come through its API, not its table.
    ctx.stats.contribute('jobs', async () => {
      const s = await ctx.jobs.stats()
      return { queued: s.queued, completed_last_24h: s.completed_last_24h, failed_last_24h: s.failed_last_24h }
    })
    const service: AdminService = { adminUsers: deps.adminUsers, impersonation: deps.impersonation }
    return {
      service,
      routes: { admin: (r) => adminRoutes(r, deps).use(webhookEventRoutes(r)) },
      start: () => deps.impersonation.init(),
    }
  },
})

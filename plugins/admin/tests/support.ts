/** Shared test setup for the admin plugin: an app with users + admin, role holders, and a job fixture. */
import { definePlugin } from '../../../core/index.ts'
import { testApp, type TestApp, type TestAppOptions } from '../../../core/testing/index.ts'
import users from '../../users/index.ts'
import admin from '../index.ts'

export const ROOT = { sub: 'u-root', email: 'root@example.com', name: 'Root Admin' }
export const BOSS = { sub: 'u-boss', email: 'boss@example.com', name: 'Boss Admin' }

/** A job that always fails (to be retried) and a dashboard section, as other plugins would add them. */
export const fixture = definePlugin({
  name: 'admin-fixture',
  setup: (ctx) => {
    ctx.stats.contribute('subscriptions', () => ({ active: 2, by_plan: { free: 1, pro: 2 } }))
    return {
      jobs: {
        'fixture.explode': () => {
          throw new Error('boom')
        },
      },
    }
  },
})

export async function adminApp(options: Partial<TestAppOptions> = {}): Promise<TestApp> {
  const t = await testApp({
    ...options,
    plugins: [users, admin, fixture, ...(options.plugins ?? [])],
    env: { SUPERADMIN_EMAILS: ROOT.email, ADMIN_EMAILS: BOSS.email, ...options.env },
  })
  // Provisioned by their first request, with the roles of the email lists.
  await t.as(ROOT).get('/api/v1/app/users/me')
  await t.as(BOSS).get('/api/v1/app/users/me')
  return t
}

/** Every admin route of the app for one version, with path parameters filled. */
export function adminRoutes(t: TestApp, version = 'v1', id = '00000000-0000-4000-8000-000000000000') {
  return t.app.elysia.routes
    .filter((r) => r.path.startsWith(`/api/${version}/admin/`) && r.method !== 'ALL')
    .map((r) => ({ method: r.method.toUpperCase(), path: r.path.replace(/:[A-Za-z_]+/g, id) }))
}

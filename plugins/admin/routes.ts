/** Admin routes under /admin (docs/plugins/admin.md): users, jobs, dashboard stats, audit logs, impersonation. */
import { jsonDoc, page, type AuditRequest, type RouteContext } from '../../core/index.ts'
import type { UsersPluginService } from '../users/index.ts'
import type { ImpersonationService } from './impersonation.ts'
import { AdminUserModel, DashboardModel, ImpersonationModel, JobModel } from './schema.ts'
import type { AdminUsersService } from './users.ts'

export interface AdminDeps {
  users: UsersPluginService
  adminUsers: AdminUsersService
  impersonation: ImpersonationService
}

// Every admin route: admin or superadmin (the core checks the zone); an API key also needs admin:full.
const SCOPE = 'admin:full'

export const adminRoutes = ({ router, version, jobs, audit, stats, sql }: RouteContext, d: AdminDeps) => {
  const views = async (rows: Awaited<ReturnType<AdminUsersService['get']>>[]) =>
    (await d.users.views(rows, (r) => ({ updated_at: r.updated_at, deleted_at: r.deleted_at ?? null }))).map((v) =>
      d.users.present(v, version),
    )
  const one = async (row: Awaited<ReturnType<AdminUsersService['get']>>) => (await views([row]))[0]
  const setActive =
    (is_active: boolean) =>
    async (c: {
      principal: AuditRequest['principal']
      params: { user_id: string }
      requestId: string
      clientIp: string
    }) =>
      one(
        await d.adminUsers.update(
          c.principal,
          c.params.user_id,
          { is_active },
          c,
          is_active ? 'user.activate' : 'user.deactivate',
        ),
      )

  return (
    router()
      // Users
      .get(
        '/users',
        async ({ query }) => {
          const { items, total } = await d.adminUsers.list(query)
          return page(await views(items), total, query)
        },
        {
          query: AdminUserModel.listQuery,
          scope: SCOPE,
          detail: {
            summary: 'List users',
            description:
              'Newest first. `search` matches email or name; filters `role` and `is_active`. v2 adds is_premium and days_since_joined.',
            responses: { 200: jsonDoc('A page of users with admin details', AdminUserModel.list) },
          },
        },
      )
      .get('/users/:user_id', async ({ params }) => one(await d.adminUsers.get(params.user_id)), {
        params: AdminUserModel.params,
        scope: SCOPE,
        detail: { summary: 'Get a user', responses: { 200: jsonDoc('The user', AdminUserModel.user) } },
      })
      .patch(
        '/users/:user_id',
        async (c) => one(await d.adminUsers.update(c.principal, c.params.user_id, c.body, c, 'user.update')),
        {
          params: AdminUserModel.params,
          body: AdminUserModel.update,
          scope: SCOPE,
          detail: {
            summary: "Update a user's role or activation",
            description:
              'An admin may grant and revoke `agent` and `admin`; only a superadmin grants, revokes or changes `superadmin` (403 otherwise); nobody changes their own role (403, details.field `role`); the last active superadmin cannot be deactivated (409). Every change is audited (`user.role_change`, `user.activate`, `user.deactivate`).',
            responses: {
              200: jsonDoc('The updated user', AdminUserModel.user),
              409: { description: 'The last active superadmin cannot be deactivated' },
            },
          },
        },
      )
      .post('/users/:user_id/deactivate', setActive(false), {
        params: AdminUserModel.params,
        scope: SCOPE,
        detail: {
          summary: 'Deactivate a user',
          description: 'Their sessions and API keys get 403 at once, on every replica. Audited.',
          responses: {
            200: jsonDoc('The user', AdminUserModel.user),
            409: { description: 'The last active superadmin cannot be deactivated' },
          },
        },
      })
      .post('/users/:user_id/activate', setActive(true), {
        params: AdminUserModel.params,
        scope: SCOPE,
        detail: {
          summary: 'Activate a user',
          description: 'Audited.',
          responses: { 200: jsonDoc('The user', AdminUserModel.user) },
        },
      })

      // Jobs (the core queue: no dependency on its table)
      .get(
        '/jobs',
        async ({ query }) => {
          const { items, total } = await jobs.list(query)
          return page(items, total, query)
        },
        {
          query: JobModel.listQuery,
          scope: SCOPE,
          detail: {
            summary: 'List background jobs',
            description: 'Newest first; filter by `state` and `queue`.',
            responses: { 200: jsonDoc('A page of jobs', JobModel.list) },
          },
        },
      )
      .post(
        '/jobs/:job_id/retry',
        async (c) => {
          const a = audit.from(c)
          // The requeue and its audit entry commit together (docs/auth.md#audit-log: audited in the same transaction).
          return sql.begin(async (tx) => {
            const job = await jobs.retry(c.params.job_id, { tx: tx as never })
            await audit.record(
              {
                ...a,
                action: 'job.retry',
                resource_type: 'job',
                resource_id: job.id,
                details: { ...a.details, name: job.name },
              },
              tx,
            )
            return job
          })
        },
        {
          params: JobModel.params,
          scope: SCOPE,
          detail: {
            summary: 'Retry a failed or dead job',
            description: 'Queued again now with a fresh set of attempts. 409 for a job in another state. Audited.',
            responses: {
              200: jsonDoc('The job', JobModel.job),
              409: { description: 'The job is neither failed nor dead' },
            },
          },
        },
      )

      // Dashboard
      .get('/dashboard/stats', () => stats.collect(), {
        scope: SCOPE,
        detail: {
          summary: 'Dashboard statistics',
          description:
            'Sections (users, subscriptions, webhooks, jobs) from the installed plugins; an absent plugin contributes none.',
          responses: { 200: jsonDoc('Statistics', DashboardModel.stats) },
        },
      })
      .get(
        '/dashboard/audit-logs',
        async ({ query }) => {
          const { items, total } = await audit.list(query)
          return page(items, total, query)
        },
        {
          query: DashboardModel.auditQuery,
          scope: SCOPE,
          detail: {
            summary: 'Audit logs',
            description:
              'Newest first; filters actor_id, action, resource_type, resource_id; limit defaults to 50. Append-only.',
            responses: { 200: jsonDoc('A page of audit entries', DashboardModel.auditList) },
          },
        },
      )

      // Impersonation
      .post('/impersonate/start', (c) => d.impersonation.start(c.principal, c.body, c), {
        body: ImpersonationModel.start,
        scope: SCOPE,
        detail: {
          summary: 'Impersonate a user',
          description:
            'A 1-hour token for /app/* as that user, audited first. `reason` is optional and recorded in the audit entry when given (required, 422, when IMPERSONATION_REQUIRE_REASON=true). Not for admins, superadmins, yourself, or from an impersonation.',
          responses: {
            200: jsonDoc('The impersonation token', ImpersonationModel.started),
            404: { description: 'No such user' },
            409: { description: 'The user is deactivated' },
          },
        },
      })
      .post('/impersonate/stop', (c) => d.impersonation.stop(c.principal, c), {
        scope: SCOPE,
        detail: {
          summary: 'Stop impersonating',
          description:
            'Call with the impersonation token: it stops working at once, on every replica. 400 with any other bearer.',
          responses: {
            200: jsonDoc('Stopped', ImpersonationModel.stopped),
            400: { description: 'Not impersonating: called with another bearer' },
          },
        },
      })
  )
}

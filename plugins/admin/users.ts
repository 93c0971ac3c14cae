/** Admin user management: list, get, role and activation changes with the superadmin rules, audited in the same transaction. */
import {
  conflict,
  forbidden,
  notFound,
  paged,
  type AuditRequest,
  type Paged,
  type PluginContext,
  type Role,
  type Sql,
} from '../../core/index.ts'
import type { UserRow, UsersPluginService } from '../users/index.ts'

export interface AdminUserQuery {
  skip: number
  limit: number
  search?: string
  role?: Role
  is_active?: boolean
  /** Cursor from a previous page's next_after (core/db/paged.ts). */
  after?: string
}

export interface AdminUsersService {
  list(query: AdminUserQuery): Promise<Paged<UserRow>>
  get(id: string): Promise<UserRow>
  /** `action` names the audit entry when nothing changes (`user.update`, `user.deactivate` ...). */
  update(
    principal: AuditRequest['principal'],
    id: string,
    patch: { role?: Role; is_active?: boolean },
    req: AuditRequest,
    action: string,
  ): Promise<UserRow>
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => '\\' + c)

export function createAdminUsers(
  ctx: Pick<PluginContext, 'sql' | 'audit'>,
  users: UsersPluginService,
): AdminUsersService {
  const sql: Sql = ctx.sql

  return {
    async list(query) {
      const { search, role, is_active } = query
      const pattern = search?.trim() ? `%${escapeLike(search.trim().toLowerCase())}%` : undefined
      // Service users (an organization's `org:<id>`, docs/auth.md#service-users) are not people:
      // they cannot sign in and are managed by their plugin, so the list leaves them out.
      const where = sql`${users.people()}
        ${pattern ? sql`and (lower(email) like ${pattern} escape '\\' or lower(full_name) like ${pattern} escape '\\')` : sql``}
        ${role ? sql`and role = ${role}` : sql``}
        ${is_active === undefined ? sql`` : sql`and is_active = ${is_active}`}`
      // Served by users_created_idx, users_role_created_idx and users_active_created_idx; ids are JWT subs (text).
      return paged<UserRow>(sql, { table: 'users', where, idType: 'text' }, query)
    },

    async get(id) {
      const row = users.isServiceUser(id) ? undefined : await users.get(id)
      if (!row) throw notFound('User', id)
      return row
    },

    async update(principal, id, patch, req, action) {
      const actor = principal.user
      const row = await sql.begin(async (tx) => {
        // Every role or activation change takes this lock first, so the last-superadmin check cannot race.
        await tx`select pg_advisory_xact_lock(7416371240013318)`
        const target = users.isServiceUser(id) ? undefined : await users.get(id, tx)
        if (!target) throw notFound('User', id)
        const role = patch.role ?? target.role
        const active = patch.is_active ?? target.is_active
        const roleChanged = role !== target.role
        const activeChanged = active !== target.is_active
        // docs/plugins/admin.md (docs/plugins/admin.md's example): an admin grants and revokes agent and admin; superadmin
        // (granting it, or changing a superadmin in any way) is a superadmin's; nobody changes their own role.
        if (roleChanged && target.id === actor.id) throw forbidden('You cannot change your own role', { field: 'role' })
        if (
          (roleChanged || activeChanged) &&
          (role === 'superadmin' || target.role === 'superadmin') &&
          actor.role !== 'superadmin'
        ) {
          throw forbidden('Only a superadmin may grant, revoke or change the superadmin role', {
            required_role: 'superadmin',
          })
        }
        if (target.role === 'superadmin' && target.is_active && (role !== 'superadmin' || !active)) {
          const [{ n }] = (await tx`
            select count(*)::int as n from users where role = 'superadmin' and is_active and id <> ${id}`) as unknown as [
            { n: number },
          ]
          if (n === 0) throw conflict('The last active superadmin cannot be demoted or deactivated', { user_id: id })
        }
        const [updated] = (await tx`
          update users set role = ${role}, is_active = ${active}, updated_at = now() where id = ${id} returning *`) as unknown as [
          UserRow,
        ]
        const a = ctx.audit.from(req)
        const base = { ...a, resource_type: 'user', resource_id: id }
        if (roleChanged)
          await ctx.audit.record(
            { ...base, action: 'user.role_change', details: { ...a.details, from: target.role, to: role } },
            tx,
          )
        if (activeChanged)
          await ctx.audit.record(
            { ...base, action: active ? 'user.activate' : 'user.deactivate', details: { ...a.details } },
            tx,
          )
        if (!roleChanged && !activeChanged)
          await ctx.audit.record({ ...base, action, details: { ...a.details, changed: false } }, tx)
        return updated
      })
      // Every replica drops the user from its cache: the new role or a deactivation applies at once.
      await users.changed(id)
      return row
    },
  }
}

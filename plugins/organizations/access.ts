/**
 * Who may do what in an organization (docs/plugins/organizations.md#roles): the caller's role,
 * read through the per-replica membership cache, and the level a call requires. A non-member is
 * answered exactly like a missing organization (404).
 */
import { forbidden, isUuid, notFound, type Sql } from '../../core/index.ts'
import { createMembershipCache } from './membership-cache.ts'
import type { Caller } from './model.ts'
import { isOrgAdmin, type OrgRole } from './roles.ts'

export type Level = 'member' | 'admin' | 'owner'

export function createAccess(d: { sql: Sql; cacheTtlMs?: number }) {
  const { sql } = d
  const cache = createMembershipCache({
    ttlMs: d.cacheTtlMs,
    load: async (orgId, userId) => {
      const [row] = await sql<{ role: OrgRole }[]>`
        select m.role from org_memberships m join organizations o on o.id = m.org_id
        where m.org_id = ${orgId} and m.user_id = ${userId} and o.deleted_at is null`
      return row?.role
    },
  })

  const roleOf = (orgId: string, userId: string) =>
    isUuid(orgId) ? cache.get(orgId, userId) : Promise.resolve(undefined)

  /** The caller's role, or 404; `admin` requires owner or admin, `owner` an owner. */
  const require = async (caller: Caller, orgId: string, level: Level = 'member'): Promise<OrgRole> => {
    const keyRole = typeof caller === 'string' || caller.org?.id !== orgId.toLowerCase() ? undefined : caller.org.role
    const role = keyRole ?? (await roleOf(orgId, typeof caller === 'string' ? caller : caller.id))
    if (!role) throw notFound('Organization', orgId)
    if (level === 'admin' && !isOrgAdmin(role))
      throw forbidden('Only an owner or an admin of the organization may do this')
    if (level === 'owner' && role !== 'owner') throw forbidden('Only an owner of the organization may do this')
    return role
  }

  return {
    require,
    roleOf,
    invalidate: (orgId: string, userId?: string) => cache.invalidate(orgId, userId),
  }
}

export type Access = ReturnType<typeof createAccess>

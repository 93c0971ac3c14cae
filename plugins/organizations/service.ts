/**
 * Organizations service (docs/plugins/organizations.md): organizations (orgs.ts), memberships and
 * the role rules (members.ts), the ownership transfer (transfer.ts), and who may do what
 * (access.ts). Every rule is checked in these files, not in the routes. A non-member is answered
 * exactly like a missing organization (404). Writes run in one transaction with their audit entry
 * and the jobs of durable subscribers; bus events go out after the commit.
 */
import type { AuditLog, Sql } from '../../core/index.ts'
import { createAccess, type Level } from './access.ts'
import { createMembers, type MembersPart } from './members.ts'
import type { Actor, Caller, Member } from './model.ts'
import { createOrgs, type OrgsPart } from './orgs.ts'
import type { OrgEvents } from './publish.ts'
import type { OrgRole } from './roles.ts'
import { createTransfer } from './transfer.ts'

export type { Actor, Caller, Member, Org, OrgView } from './model.ts'

export interface OrganizationsService extends OrgsPart, MembersPart {
  /** The role of `userId` in the live organization `orgId` (cached, invalidated on every replica). */
  membership(orgId: string, userId: string): Promise<{ role: OrgRole } | undefined>
  /** Drops cached memberships (the bus handlers call it on every replica). */
  invalidate(orgId: string, userId?: string): void
  /** Makes `userId` (a member) an owner and the caller an admin. */
  transfer(by: Actor, orgId: string, userId: string): Promise<Member>
  /** The caller's role, or 404; `admin` requires owner or admin. */
  require(caller: Caller, orgId: string, level?: Level): Promise<OrgRole>
}

export function createOrganizationsService(d: {
  sql: Sql
  audit: AuditLog
  publish: OrgEvents
  now: () => Date
  cacheTtlMs?: number
}): OrganizationsService {
  const access = createAccess({ sql: d.sql, cacheTtlMs: d.cacheTtlMs })
  const { changeRoleIn, ...members } = createMembers({ ...d, access })
  return {
    require: access.require,
    invalidate: access.invalidate,
    async membership(orgId, userId) {
      const role = await access.roleOf(orgId, userId)
      return role ? { role } : undefined
    },
    ...createOrgs({ ...d, access }),
    ...members,
    transfer: createTransfer({ ...d, access, changeRoleIn }),
  }
}

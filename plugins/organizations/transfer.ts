/**
 * Ownership transfer (docs/plugins/organizations.md#roles): an owner makes another member an owner
 * and becomes an admin, in one transaction (the new owner first, so the organization always has
 * one). Both role changes are durable events of that transaction.
 */
import { forbidden, validation, type AuditLog, type Sql } from '../../core/index.ts'
import type { Access } from './access.ts'
import { lockedRole, memberRow, type Members } from './members.ts'
import { toMember, type Actor, type Member } from './model.ts'
import type { OrgEvents } from './publish.ts'

export function createTransfer(d: {
  sql: Sql
  audit: AuditLog
  publish: OrgEvents
  access: Access
  changeRoleIn: Members['changeRoleIn']
}) {
  const { sql, audit, publish, access, changeRoleIn } = d

  /** Makes `userId` (a member) an owner and the caller an admin. */
  return async function transfer(by: Actor, orgId: string, userId: string): Promise<Member> {
    await access.require(by, orgId, 'owner')
    if (userId === by.id) throw validation('user_id', 'Transfer ownership to another member')
    const { target, self } = await sql.begin(async (tx) => {
      const self = await lockedRole(tx, orgId, by.id)
      if (self !== 'owner') throw forbidden('Only an owner of the organization may do this')
      // The new owner first: the organization always has one.
      const target = await changeRoleIn(tx, by, orgId, userId, 'owner')
      await changeRoleIn(tx, by, orgId, by.id, 'admin')
      await audit.record(
        {
          ...by.audit,
          action: 'org.transfer',
          resource_type: 'organization',
          resource_id: orgId,
          details: { ...by.audit.details, user_id: userId },
        },
        tx,
      )
      return { target, self }
    })
    if (target !== 'owner') await publish.roleChanged(orgId, userId, 'owner', target)
    await publish.roleChanged(orgId, by.id, 'admin', self)
    return toMember((await memberRow(sql, orgId, userId))!)
  }
}

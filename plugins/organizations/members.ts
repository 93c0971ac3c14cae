/**
 * Members of an organization (docs/plugins/organizations.md#roles): list, change a role, remove,
 * leave, and the rules they share with the ownership transfer (the last owner stays; membership
 * changes of one organization take turns on its row). Each change enqueues its durable
 * subscribers' jobs (billing's seats: docs/jobs-and-events.md#durable-events) in its transaction.
 */
import {
  conflict,
  forbidden,
  notFound,
  page,
  type AuditLog,
  type Page,
  type PageQuery,
  type Sql,
} from '../../core/index.ts'
import type { Access } from './access.ts'
import { sessionOnly, toMember, type Actor, type Caller, type Member, type MemberRow, type Tx } from './model.ts'
import type { OrgEvents } from './publish.ts'
import type { OrgRole } from './roles.ts'

/** The members' rows locked for the change (serialises concurrent owner changes of one organization). */
export const lockOwners = async (tx: Tx, orgId: string) => {
  const rows = await tx<{ user_id: string }[]>`
    select user_id from org_memberships where org_id = ${orgId} and role = 'owner' for update`
  return rows.map((r) => r.user_id)
}

export const lockedRole = async (tx: Tx, orgId: string, userId: string) => {
  // Membership changes of one organization take turns on its row first: two owners demoting each
  // other at once then cannot both pass the last-owner check, nor deadlock on each other's rows.
  // (NO KEY UPDATE: inserts of memberships, which only key-share the row, are not held up.)
  await tx`select id from organizations where id = ${orgId} for no key update`
  const [row] = await tx<{ role: OrgRole }[]>`
    select m.role from org_memberships m join organizations o on o.id = m.org_id
    where m.org_id = ${orgId} and m.user_id = ${userId} and o.deleted_at is null for update of m`
  return row?.role
}

export const memberRow = async (q: Sql | Tx, orgId: string, userId: string) => {
  const [row] = await (q as Sql)<MemberRow[]>`
    select m.user_id, u.email, u.full_name, m.role, m.joined_at
    from org_memberships m join users u on u.id = m.user_id
    where m.org_id = ${orgId} and m.user_id = ${userId}`
  return row
}

/** Refuses to leave an organization without an owner. */
const keepAnOwner = (owners: string[], leaving: string) => {
  if (owners.length === 1 && owners[0] === leaving)
    throw conflict('The last owner cannot leave, be removed or be demoted; make another member an owner first', {
      reason: 'last_owner',
    })
}

export interface MembersPart {
  members(caller: Caller, orgId: string, query: PageQuery): Promise<Page<Member>>
  changeRole(by: Actor, orgId: string, userId: string, role: OrgRole): Promise<Member>
  removeMember(by: Actor, orgId: string, userId: string): Promise<void>
  leave(by: Actor, orgId: string): Promise<void>
}

export function createMembers(d: { sql: Sql; audit: AuditLog; publish: OrgEvents; access: Access }) {
  const { sql, audit, publish, access } = d

  /** Sets `userId`'s role in the caller's transaction; returns the previous role. */
  const changeRoleIn = async (tx: Tx, by: Actor, orgId: string, userId: string, role: OrgRole) => {
    const previous = await lockedRole(tx, orgId, userId)
    if (!previous) throw notFound('Member', userId)
    const owners = await lockOwners(tx, orgId)
    if (previous === 'owner' && role !== 'owner') keepAnOwner(owners, userId)
    if (previous !== role) {
      await tx`update org_memberships set role = ${role} where org_id = ${orgId} and user_id = ${userId}`
      await audit.record(
        {
          ...by.audit,
          action: 'org.member_role_change',
          resource_type: 'organization',
          resource_id: orgId,
          details: { ...by.audit.details, user_id: userId, role, previous_role: previous },
        },
        tx,
      )
      await publish.durable(tx, 'org.role_changed', { org_id: orgId, user_id: userId, role, previous_role: previous })
    }
    return previous
  }

  /** Deletes the membership with its audit entry and the durable `org.member_removed`. */
  const removeIn = async (tx: Tx, by: Actor, orgId: string, userId: string, action: string, role: OrgRole) => {
    await tx`delete from org_memberships where org_id = ${orgId} and user_id = ${userId}`
    const details = action === 'org.member_leave' ? { role } : { user_id: userId, role }
    await audit.record(
      {
        ...by.audit,
        action,
        resource_type: 'organization',
        resource_id: orgId,
        details: { ...by.audit.details, ...details },
      },
      tx,
    )
    await publish.durable(tx, 'org.member_removed', { org_id: orgId, user_id: userId })
  }

  const part: MembersPart = {
    async members(caller, orgId, query) {
      await access.require(caller, orgId)
      // Served by org_memberships_org_joined_idx.
      const [items, [count]] = await Promise.all([
        sql<MemberRow[]>`
          select m.user_id, u.email, u.full_name, m.role, m.joined_at
          from org_memberships m join users u on u.id = m.user_id
          where m.org_id = ${orgId}
          order by m.joined_at desc, m.user_id desc limit ${query.limit} offset ${query.skip}`,
        sql<{ n: number }[]>`select count(*)::int as n from org_memberships where org_id = ${orgId}`,
      ])
      return page(items.map(toMember), count!.n, query)
    },

    async changeRole(by, orgId, userId, role) {
      const mine = await access.require(by, orgId, 'admin')
      const previous = await sql.begin(async (tx) => {
        const current = await lockedRole(tx, orgId, userId)
        if (!current) throw notFound('Member', userId)
        // Only an owner makes or unmakes an owner.
        if ((role === 'owner' || current === 'owner') && mine !== 'owner')
          throw forbidden('Only an owner may make or unmake an owner')
        return changeRoleIn(tx, by, orgId, userId, role)
      })
      if (previous !== role) await publish.roleChanged(orgId, userId, role, previous)
      return toMember((await memberRow(sql, orgId, userId))!)
    },

    async removeMember(by, orgId, userId) {
      const mine = await access.require(by, orgId, 'admin')
      await sql.begin(async (tx) => {
        const current = await lockedRole(tx, orgId, userId)
        if (!current) throw notFound('Member', userId)
        if (current === 'owner' && mine !== 'owner') throw forbidden('Only an owner may remove an owner')
        if (current === 'owner') keepAnOwner(await lockOwners(tx, orgId), userId)
        await removeIn(tx, by, orgId, userId, 'org.member_remove', current)
      })
      await publish.memberRemoved(orgId, userId)
    },

    async leave(by, orgId) {
      await access.require(by, orgId)
      // The key's service user is never a member: it may read its organization, not leave it.
      if (by.keyOf) throw sessionOnly('leave its organization')
      await sql.begin(async (tx) => {
        const current = await lockedRole(tx, orgId, by.id)
        if (!current) throw notFound('Organization', orgId)
        if (current === 'owner') keepAnOwner(await lockOwners(tx, orgId), by.id)
        await removeIn(tx, by, orgId, by.id, 'org.member_leave', current)
      })
      await publish.memberRemoved(orgId, by.id)
    },
  }
  return { ...part, changeRoleIn }
}

export type Members = ReturnType<typeof createMembers>

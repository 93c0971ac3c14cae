/**
 * Organizations service (docs/plugins/organizations.md): organizations, memberships and the
 * role rules. Every rule is checked here, not in the routes. A non-member is answered exactly
 * like a missing organization (404). Writes run in one transaction with their audit entry;
 * events go out after the commit.
 */
import {
  conflict,
  forbidden,
  isUuid,
  notFound,
  page,
  validation,
  type AuditLog,
  type Page,
  type PageQuery,
  type Queryable,
  type Sql,
} from '../../core/index.ts'
import { createMembershipCache } from './membership-cache.ts'
import type { OrgEvents } from './publish.ts'
import { isOrgAdmin, type OrgRole } from './roles.ts'
import type { OrgModel } from './schema.ts'

export type Org = {
  id: string
  name: string
  slug: string
  created_by: string | null
  created_at: Date
  updated_at: Date
}
export type OrgView = OrgModel.org
export type Member = OrgModel.member

/**
 * Who asks: a user id, or the caller with the role an organization API key holds in its own
 * organization (`org`, from keyMembership: the key's service user is never in org_memberships).
 */
export type Caller = string | { id: string; org?: { id: string; role: OrgRole } }

/** Who acts: the caller and what the audit log records about the request. */
export interface Actor {
  id: string
  org?: { id: string; role: OrgRole }
  audit: {
    actor_id: string | null
    ip_address?: string | null
    request_id?: string | null
    details: Record<string, unknown>
  }
}

export interface OrganizationsService {
  /** The role of `userId` in the live organization `orgId` (cached, invalidated on every replica). */
  membership(orgId: string, userId: string): Promise<{ role: OrgRole } | undefined>
  memberCount(orgId: string): Promise<number>
  /** The live organization, or undefined (deleted or missing). */
  get(orgId: string): Promise<Org | undefined>
  listMemberIds(orgId: string): Promise<string[]>
  /** Drops cached memberships (the bus handlers call it on every replica). */
  invalidate(orgId: string, userId?: string): void

  create(by: Actor, input: OrgModel.create): Promise<OrgView>
  listMine(userId: string, query: PageQuery): Promise<Page<OrgView>>
  getFor(caller: Caller, orgId: string): Promise<OrgView>
  update(by: Actor, orgId: string, input: OrgModel.update): Promise<OrgView>
  remove(by: Actor, orgId: string): Promise<void>
  members(caller: Caller, orgId: string, query: PageQuery): Promise<Page<Member>>
  changeRole(by: Actor, orgId: string, userId: string, role: OrgRole): Promise<Member>
  removeMember(by: Actor, orgId: string, userId: string): Promise<void>
  leave(by: Actor, orgId: string): Promise<void>
  /** Makes `userId` (a member) an owner and the caller an admin. */
  transfer(by: Actor, orgId: string, userId: string): Promise<Member>
  /** The caller's role, or 404; `admin` requires owner or admin. */
  require(caller: Caller, orgId: string, level?: 'member' | 'admin' | 'owner'): Promise<OrgRole>
}

interface OrgRow {
  id: string
  name: string
  slug: string
  role: OrgRole
  created_at: Date
  updated_at: Date
}

interface MemberRow {
  user_id: string
  email: string | null
  full_name: string | null
  role: OrgRole
  joined_at: Date
}

const toView = (r: OrgRow): OrgView => ({
  id: r.id,
  name: r.name,
  slug: r.slug,
  role: r.role,
  created_at: r.created_at.toISOString(),
  updated_at: r.updated_at.toISOString(),
})

export const toMember = (r: MemberRow): Member => ({
  user_id: r.user_id,
  email: r.email,
  full_name: r.full_name,
  role: r.role,
  joined_at: r.joined_at.toISOString(),
})

/** A slug from a name: lower-case ASCII letters and digits, other runs as one hyphen. */
export function slugify(name: string): string {
  const s = name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64)
    .replace(/-+$/g, '')
  return s || 'org'
}

const cleanName = (name: string) => {
  const n = name.trim()
  if (!n) throw validation('name', 'Name must be at least 1 character')
  return n
}

const slugTaken = (slug: string) =>
  conflict('This slug is taken by another organization', { reason: 'slug_taken', slug })

/** PostgreSQL unique_violation on the live-slug index. */
const isSlugViolation = (err: unknown) =>
  (err as { code?: string })?.code === '23505' && String((err as Error).message).includes('organizations_slug_live_idx')

type Tx = Queryable

export function createOrganizationsService(d: {
  sql: Sql
  audit: AuditLog
  publish: OrgEvents
  now: () => Date
  cacheTtlMs?: number
}): OrganizationsService {
  const { sql, audit, publish, now } = d
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

  const require: OrganizationsService['require'] = async (caller, orgId, level = 'member') => {
    const keyRole = typeof caller === 'string' || caller.org?.id !== orgId.toLowerCase() ? undefined : caller.org.role
    const role = keyRole ?? (await roleOf(orgId, typeof caller === 'string' ? caller : caller.id))
    if (!role) throw notFound('Organization', orgId)
    if (level === 'admin' && !isOrgAdmin(role))
      throw forbidden('Only an owner or an admin of the organization may do this')
    if (level === 'owner' && role !== 'owner') throw forbidden('Only an owner of the organization may do this')
    return role
  }

  /** The members' rows locked for the change (serialises concurrent owner changes of one organization). */
  const lockOwners = async (tx: Tx, orgId: string) => {
    const rows = await (tx as Sql)<{ user_id: string }[]>`
      select user_id from org_memberships where org_id = ${orgId} and role = 'owner' for update`
    return rows.map((r) => r.user_id)
  }

  const lockedRole = async (tx: Tx, orgId: string, userId: string) => {
    // Membership changes of one organization take turns on its row first: two owners demoting each
    // other at once then cannot both pass the last-owner check, nor deadlock on each other's rows.
    // (NO KEY UPDATE: inserts of memberships, which only key-share the row, are not held up.)
    await (tx as Sql)`select id from organizations where id = ${orgId} for no key update`
    const [row] = await (tx as Sql)<{ role: OrgRole }[]>`
      select m.role from org_memberships m join organizations o on o.id = m.org_id
      where m.org_id = ${orgId} and m.user_id = ${userId} and o.deleted_at is null for update of m`
    return row?.role
  }

  const memberRow = async (q: Sql | Tx, orgId: string, userId: string) => {
    const [row] = await (q as Sql)<MemberRow[]>`
      select m.user_id, u.email, u.full_name, m.role, m.joined_at
      from org_memberships m join users u on u.id = m.user_id
      where m.org_id = ${orgId} and m.user_id = ${userId}`
    return row
  }

  const viewFor = async (caller: Caller, orgId: string): Promise<OrgView> => {
    const role = await require(caller, orgId)
    const [row] = await sql<Omit<OrgRow, 'role'>[]>`
      select id, name, slug, created_at, updated_at from organizations where id = ${orgId} and deleted_at is null`
    if (!row) throw notFound('Organization', orgId)
    return toView({ ...row, role })
  }

  /** Refuses to leave an organization without an owner. */
  const keepAnOwner = (owners: string[], leaving: string) => {
    if (owners.length === 1 && owners[0] === leaving)
      throw conflict('The last owner cannot leave, be removed or be demoted; make another member an owner first', {
        reason: 'last_owner',
      })
  }

  const changeRoleIn = async (tx: Tx, by: Actor, orgId: string, userId: string, role: OrgRole) => {
    const previous = await lockedRole(tx, orgId, userId)
    if (!previous) throw notFound('Member', userId)
    const owners = await lockOwners(tx, orgId)
    if (previous === 'owner' && role !== 'owner') keepAnOwner(owners, userId)
    if (previous !== role) {
      await (tx as Sql)`update org_memberships set role = ${role} where org_id = ${orgId} and user_id = ${userId}`
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
    }
    return previous
  }

  return {
    require,
    invalidate: (orgId, userId) => cache.invalidate(orgId, userId),

    async membership(orgId, userId) {
      const role = await roleOf(orgId, userId)
      return role ? { role } : undefined
    },

    async memberCount(orgId) {
      if (!isUuid(orgId)) return 0
      const [row] = await sql<{ n: number }[]>`select count(*)::int as n from org_memberships where org_id = ${orgId}`
      return row!.n
    },

    async get(orgId) {
      if (!isUuid(orgId)) return undefined
      const [row] = await sql<Org[]>`select id, name, slug, created_by, created_at, updated_at
        from organizations where id = ${orgId} and deleted_at is null`
      return row
    },

    async listMemberIds(orgId) {
      if (!isUuid(orgId)) return []
      const rows = await sql<{ user_id: string }[]>`
        select user_id from org_memberships where org_id = ${orgId} order by joined_at, user_id`
      return rows.map((r) => r.user_id)
    },

    async create(by, input) {
      const name = cleanName(input.name)
      const slug = input.slug ?? slugify(name)
      const at = now()
      let row: OrgRow
      try {
        row = await sql.begin(async (tx) => {
          const [org] = await tx<OrgRow[]>`
            insert into organizations (name, slug, created_by, created_at, updated_at)
            values (${name}, ${slug}, ${by.id}, ${at}, ${at})
            returning id, name, slug, 'owner' as role, created_at, updated_at`
          await tx`insert into org_memberships (org_id, user_id, role, joined_at) values (${org!.id}, ${by.id}, 'owner', ${at})`
          await audit.record(
            {
              ...by.audit,
              action: 'org.create',
              resource_type: 'organization',
              resource_id: org!.id,
              details: { ...by.audit.details, name, slug },
            },
            tx,
          )
          return org!
        })
      } catch (err) {
        if (isSlugViolation(err)) throw slugTaken(slug)
        throw err
      }
      await publish.created(row.id, by.id)
      return toView(row)
    },

    async listMine(userId, query) {
      // Served by org_memberships_user_idx (the caller's memberships, newest first).
      const [items, [count]] = await Promise.all([
        sql<OrgRow[]>`
          select o.id, o.name, o.slug, m.role, o.created_at, o.updated_at
          from org_memberships m join organizations o on o.id = m.org_id
          where m.user_id = ${userId} and o.deleted_at is null
          order by m.joined_at desc, m.org_id desc limit ${query.limit} offset ${query.skip}`,
        sql<{ n: number }[]>`
          select count(*)::int as n from org_memberships m join organizations o on o.id = m.org_id
          where m.user_id = ${userId} and o.deleted_at is null`,
      ])
      return page(items.map(toView), count!.n, query)
    },

    getFor: viewFor,

    async update(by, orgId, input) {
      await require(by, orgId, 'admin')
      const changes: Record<string, string> = {}
      if (input.name !== undefined) changes.name = cleanName(input.name)
      if (input.slug !== undefined) changes.slug = input.slug
      if (Object.keys(changes).length === 0) return viewFor(by, orgId)
      try {
        await sql.begin(async (tx) => {
          const [row] = await tx`update organizations set ${sql(changes)}, updated_at = ${now()}
            where id = ${orgId} and deleted_at is null returning id`
          if (!row) throw notFound('Organization', orgId)
          await audit.record(
            {
              ...by.audit,
              action: 'org.update',
              resource_type: 'organization',
              resource_id: orgId,
              details: { ...by.audit.details, ...changes },
            },
            tx,
          )
        })
      } catch (err) {
        if (isSlugViolation(err)) throw slugTaken(changes.slug!)
        throw err
      }
      await publish.updated(orgId, Object.keys(changes))
      return viewFor(by, orgId)
    },

    async remove(by, orgId) {
      await require(by, orgId, 'owner')
      await sql.begin(async (tx) => {
        const [row] = await tx`update organizations set deleted_at = ${now()}, updated_at = ${now()}
          where id = ${orgId} and deleted_at is null returning id`
        if (!row) throw notFound('Organization', orgId)
        // Pending invitations of a deleted organization can no longer be accepted.
        await tx`update org_invitations set revoked_at = ${now()}
          where org_id = ${orgId} and accepted_at is null and declined_at is null and revoked_at is null`
        await audit.record({ ...by.audit, action: 'org.delete', resource_type: 'organization', resource_id: orgId }, tx)
      })
      await publish.deleted(orgId)
    },

    async members(caller, orgId, query) {
      await require(caller, orgId)
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
      const mine = await require(by, orgId, 'admin')
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
      const mine = await require(by, orgId, 'admin')
      await sql.begin(async (tx) => {
        const current = await lockedRole(tx, orgId, userId)
        if (!current) throw notFound('Member', userId)
        if (current === 'owner' && mine !== 'owner') throw forbidden('Only an owner may remove an owner')
        if (current === 'owner') keepAnOwner(await lockOwners(tx, orgId), userId)
        await tx`delete from org_memberships where org_id = ${orgId} and user_id = ${userId}`
        await audit.record(
          {
            ...by.audit,
            action: 'org.member_remove',
            resource_type: 'organization',
            resource_id: orgId,
            details: { ...by.audit.details, user_id: userId, role: current },
          },
          tx,
        )
      })
      await publish.memberRemoved(orgId, userId)
    },

    async leave(by, orgId) {
      await require(by, orgId)
      await sql.begin(async (tx) => {
        const current = await lockedRole(tx, orgId, by.id)
        if (!current) throw notFound('Organization', orgId)
        if (current === 'owner') keepAnOwner(await lockOwners(tx, orgId), by.id)
        await tx`delete from org_memberships where org_id = ${orgId} and user_id = ${by.id}`
        await audit.record(
          {
            ...by.audit,
            action: 'org.member_leave',
            resource_type: 'organization',
            resource_id: orgId,
            details: { ...by.audit.details, role: current },
          },
          tx,
        )
      })
      await publish.memberRemoved(orgId, by.id)
    },

    async transfer(by, orgId, userId) {
      await require(by, orgId, 'owner')
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
    },
  }
}

/**
 * Organizations themselves (docs/plugins/organizations.md#routes): create (the caller becomes the
 * owner), list mine, read, rename and delete. Writes run in one transaction with their audit
 * entry; a deletion enqueues its durable subscribers' jobs in that transaction (projects, files,
 * billing: docs/jobs-and-events.md#durable-events); the bus hears of a change after the commit.
 */
import {
  conflict,
  isUuid,
  notFound,
  page,
  validation,
  type AuditLog,
  type Page,
  type PageQuery,
  type Sql,
} from '../../core/index.ts'
import type { Access } from './access.ts'
import { sessionOnly, toView, type Actor, type Caller, type Org, type OrgRow, type OrgView } from './model.ts'
import type { OrgEvents } from './publish.ts'
import type { OrgModel } from './schema.ts'

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

export interface OrgsPart {
  memberCount(orgId: string): Promise<number>
  /** The live organization, or undefined (deleted or missing). */
  get(orgId: string): Promise<Org | undefined>
  listMemberIds(orgId: string): Promise<string[]>
  create(by: Actor, input: OrgModel.create): Promise<OrgView>
  listMine(userId: string, query: PageQuery): Promise<Page<OrgView>>
  getFor(caller: Caller, orgId: string): Promise<OrgView>
  update(by: Actor, orgId: string, input: OrgModel.update): Promise<OrgView>
  remove(by: Actor, orgId: string): Promise<void>
}

export function createOrgs(d: {
  sql: Sql
  audit: AuditLog
  publish: OrgEvents
  now: () => Date
  access: Access
}): OrgsPart {
  const { sql, audit, publish, now, access } = d

  const viewFor = async (caller: Caller, orgId: string): Promise<OrgView> => {
    const role = await access.require(caller, orgId)
    const [row] = await sql<Omit<OrgRow, 'role'>[]>`
      select id, name, slug, created_at, updated_at from organizations where id = ${orgId} and deleted_at is null`
    if (!row) throw notFound('Organization', orgId)
    return toView({ ...row, role })
  }

  return {
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
      if (by.keyOf) throw sessionOnly('create an organization')
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
      await access.require(by, orgId, 'admin')
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
      await access.require(by, orgId, 'owner')
      const keys = await sql.begin(async (tx) => {
        const [row] = await tx`update organizations set deleted_at = ${now()}, updated_at = ${now()}
          where id = ${orgId} and deleted_at is null returning id`
        if (!row) throw notFound('Organization', orgId)
        // Pending invitations of a deleted organization can no longer be accepted.
        await tx`update org_invitations set revoked_at = ${now()}
          where org_id = ${orgId} and accepted_at is null and declined_at is null and revoked_at is null`
        // Its API keys die with it, as revocations: what was opened with them (sockets, streams) closes.
        const revoked = await tx<{ id: string }[]>`update org_api_keys set revoked_at = ${now()}
          where org_id = ${orgId} and revoked_at is null returning id`
        await audit.record({ ...by.audit, action: 'org.delete', resource_type: 'organization', resource_id: orgId }, tx)
        // Its projects, files and subscription go too: durably, with this commit, never without.
        await publish.durable(tx, 'org.deleted', { org_id: orgId, id: orgId })
        return revoked.map((k) => k.id)
      })
      await publish.deleted(orgId)
      await publish.keysRevoked(orgId, keys)
    },
  }
}

/**
 * API keys of an organization (docs/plugins/organizations-api-keys.md): `oso_` keys made, resolved,
 * cached and counted by the core's API-key kit (docs/auth.md#api-keys), the cache dropped on every
 * replica at revocation or at the organization's deletion. A key acts as the organization: its
 * principal's user is the organization's service user (`org:<org_id>`), never the admin who
 * created it.
 */
import {
  createApiKeyKit,
  hashApiKey,
  keysNeedSession,
  conflict,
  forbidden,
  isUuid,
  notFound,
  paged,
  validation,
  type ApiKeyTimings,
  type AuditRequest,
  type CredentialResolver,
  type PluginContext,
  type Paged,
  type Principal,
  type Sql,
} from '../../core/index.ts'
import type {} from './events.ts'
import type { OrganizationsService } from './service.ts'

declare module '../../core/index.ts' {
  interface EventMap {
    /** Broadcast: every replica drops the organization's key from its resolver cache at once. */
    'org_api_key.revoked': { id: string; org_id: string }
  }
}

/** The roles a key may hold in its organization: never owner (docs/plugins/organizations-api-keys.md#roles). */
export const ORG_KEY_ROLES = ['admin', 'member', 'billing'] as const
export type OrgKeyRole = (typeof ORG_KEY_ROLES)[number]

const MAX_KEYS_PER_ORG = 100
const COLUMNS = 'id, org_id, name, prefix, role, scopes, created_by, created_at, last_used_at'

export interface OrgApiKeyView {
  id: string
  org_id: string
  name: string
  prefix: string
  role: OrgKeyRole
  scopes: string[]
  created_by: string | null
  created_at: Date
  last_used_at: Date | null
}

export interface OrgApiKeysService {
  create(
    principal: Principal,
    orgId: string,
    input: { name: string; scopes: string[]; role?: OrgKeyRole },
    req: AuditRequest,
  ): Promise<OrgApiKeyView & { key: string }>
  list(principal: Principal, orgId: string, page: { skip: number; limit: number }): Promise<Paged<OrgApiKeyView>>
  revoke(principal: Principal, orgId: string, id: string, req: AuditRequest): Promise<void>
  /** Drops every cached key of a deleted organization (the plugin calls it on `org.deleted`, on every replica). */
  forgetOrganization(orgId: string): void
  /** The bearer resolver for `oso_` keys (registered at start). */
  readonly resolver: CredentialResolver
  /** Writes the pending last_used_at times (every few seconds, and at stop). */
  flushUsage(): Promise<void>
  start(): void
  stop(): Promise<void>
}

/** The users row a key of `orgId` acts as (docs/plugins/organizations-api-keys.md#the-service-user). */
export const serviceUserId = (orgId: string) => `org:${orgId}`

/**
 * The role of an organization's own key in `orgId`, or undefined for any other caller. The
 * organization's routes ask this before org_memberships: the service user is never a member
 * (docs/plugins/organizations-api-keys.md#roles).
 */
export function keyMembership(principal: Principal, orgId: string): string | undefined {
  const org = principal.org
  if (!org || principal.kind !== 'api_key' || org.id !== orgId.toLowerCase()) return undefined
  return principal.user.id === serviceUserId(org.id) ? org.role : undefined
}

/** A live key as the resolver caches it. */
interface LiveOrgKey {
  id: string
  orgId: string
  role: string
  scopes: ReadonlySet<string>
}

type Ctx = Pick<PluginContext, 'sql' | 'audit' | 'events' | 'auth' | 'logger'>

/** What the keys ask of the organizations service: the caller's role check and the organization's name. */
type Orgs = Pick<OrganizationsService, 'require' | 'get'>

export function createOrgApiKeys(ctx: Ctx, orgs: Orgs, options: ApiKeyTimings = {}): OrgApiKeysService {
  const sql: Sql = ctx.sql
  let unsubscribe: (() => void)[] = []

  const kit = createApiKeyKit<LiveOrgKey>({
    ...options,
    prefix: 'oso_',
    table: 'org_api_keys',
    label: 'organization api key',
    sql,
    logger: ctx.logger,
    users: ctx.auth.users,
    async find(hash) {
      // A deleted organization's keys stop with it (the join), also before the bus reaches us.
      const [row] = await sql<{ id: string; org_id: string; role: string; scopes: string[] }[]>`
        select k.id, k.org_id, k.role, k.scopes
        from org_api_keys k join organizations o on o.id = k.org_id and o.deleted_at is null
        where k.key_hash = ${hash} and k.revoked_at is null`
      return row && { id: row.id, orgId: row.org_id, role: row.role, scopes: new Set(row.scopes) }
    },
    userOf: (key) => serviceUserId(key.orgId),
    principal: (key, user) => ({
      user,
      kind: 'api_key',
      scopes: key.scopes,
      credentialId: key.id,
      org: { id: key.orgId, role: key.role },
    }),
  })

  const forgetOrganization = (orgId: string) => {
    const id = orgId.toLowerCase()
    kit.drop((c) => c.orgId === id)
  }

  /**
   * The caller may manage `orgId`'s keys: 404 for a non-member (and for another organization's
   * key: existence is not revealed), 403 for a member below admin, and for any API key or
   * impersonation (keys are managed from a person's session).
   */
  const manager = async (principal: Principal, orgId: string): Promise<string> => {
    if (!isUuid(orgId)) throw notFound('Organization', orgId)
    const id = orgId.toLowerCase()
    if (principal.org?.id === id && principal.user.id === serviceUserId(id)) throw keysNeedSession()
    // The organization's own check (cached membership): 404 for a non-member, 403 below admin.
    await orgs.require(principal.user.id, id, 'admin')
    if (principal.kind === 'api_key') throw keysNeedSession()
    if (principal.actorId) throw forbidden('API keys cannot be managed while impersonating')
    return id
  }

  return {
    resolver: kit.resolver,
    flushUsage: kit.flushUsage,

    async create(principal, orgId, input, req) {
      const id = await manager(principal, orgId)
      const org = await orgs.get(id)
      if (!org) throw notFound('Organization', orgId)
      const role = input.role ?? 'member'
      if (!(ORG_KEY_ROLES as readonly string[]).includes(role))
        throw validation('role', `role must be one of ${ORG_KEY_ROLES.join(', ')}`)
      const scopes = [...new Set(input.scopes)]
      // admin:full is the platform's, not an organization's.
      if (scopes.includes('admin:full')) throw validation('scopes', 'admin:full cannot be given to an organization key')
      const name = input.name.trim()
      if (!name) throw validation('name', 'name must not be blank')
      const key = kit.generate()
      const created = await sql.begin(async (tx) => {
        // Serialises concurrent creations of one organization, so the cap holds.
        await tx`select pg_advisory_xact_lock(hashtext(${`org_api_keys:${id}`}))`
        const [{ n }] = (await tx`
          select count(*)::int as n from org_api_keys where org_id = ${id} and revoked_at is null`) as unknown as [
          { n: number },
        ]
        if (n >= MAX_KEYS_PER_ORG)
          throw conflict(`At most ${MAX_KEYS_PER_ORG} active API keys per organization`, { limit: MAX_KEYS_PER_ORG })
        // The service user: created with the organization's first key, never able to sign in
        // (no email, and no identity provider issues an `org:` subject).
        await tx`
          insert into users (id, email, full_name, role) values (${serviceUserId(id)}, null, ${org.name}, 'user')
          on conflict (id) do update set full_name = excluded.full_name, updated_at = now()
          where users.full_name is distinct from excluded.full_name`
        const [row] = (await tx`
          insert into org_api_keys (org_id, name, prefix, key_hash, role, scopes, created_by)
          values (${id}, ${name}, ${key.slice(0, 12)}, ${hashApiKey(key)}, ${role}, ${scopes}::text[], ${principal.user.id})
          returning ${tx.unsafe(COLUMNS)}`) as unknown as [OrgApiKeyView]
        const a = ctx.audit.from(req)
        await ctx.audit.record(
          {
            ...a,
            action: 'org_api_key.create',
            resource_type: 'org_api_key',
            resource_id: row.id,
            details: { ...a.details, org_id: id, name, role, scopes, prefix: row.prefix },
          },
          tx,
        )
        return row
      })
      // The secret exists only in this answer: it is not stored and cannot be shown again.
      return { ...created, key }
    },

    async list(principal, orgId, query) {
      const id = await manager(principal, orgId)
      // Served by org_api_keys_org_created_idx (live keys of one organization, newest first).
      const result = await paged<OrgApiKeyView>(
        sql,
        { table: 'org_api_keys', columns: sql.unsafe(COLUMNS), where: sql`org_id = ${id} and revoked_at is null` },
        query,
      )
      return { ...result, items: kit.withRecentUse(result.items) }
    },

    async revoke(principal, orgId, keyId, req) {
      const id = await manager(principal, orgId)
      if (!isUuid(keyId)) throw notFound('API key', keyId)
      await sql.begin(async (tx) => {
        const [row] = (await tx`
          update org_api_keys set revoked_at = now()
          where id = ${keyId} and org_id = ${id} and revoked_at is null
          returning id, name, prefix, role`) as unknown as [
          { id: string; name: string; prefix: string; role: string } | undefined,
        ]
        // Another organization's key is reported exactly like a missing one.
        if (!row) throw notFound('API key', keyId)
        const a = ctx.audit.from(req)
        await ctx.audit.record(
          {
            ...a,
            action: 'org_api_key.revoke',
            resource_type: 'org_api_key',
            resource_id: keyId,
            details: { ...a.details, org_id: id, name: row.name, role: row.role, prefix: row.prefix },
          },
          tx,
        )
      })
      kit.dropId(keyId)
      await ctx.events.publish('org_api_key.revoked', { id: keyId, org_id: id }, { broadcast: true })
      await ctx.events.publish('credential.revoked', { id: keyId }, { broadcast: true })
    },

    forgetOrganization,

    start() {
      ctx.auth.addResolver(kit.resolver)
      unsubscribe = [
        ctx.events.subscribe('org_api_key.revoked', ({ id }) => kit.dropId(id)),
        // A deleted organization's keys stop at once; lookups also join on deleted_at.
        ctx.events.subscribe('org.deleted', ({ org_id }) => forgetOrganization(org_id)),
      ]
      kit.start()
    },

    async stop() {
      for (const off of unsubscribe) off()
      unsubscribe = []
      await kit.stop()
    },
  }
}

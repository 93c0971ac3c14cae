/**
 * API keys of a user (docs/auth.md#api-keys): `osk_` keys made, resolved, cached and counted by the
 * core's API-key kit; this file keeps what is a user's: the rows, the cap, who may manage them.
 */
import {
  createApiKeyKit,
  hashApiKey,
  keysNeedSession,
  conflict,
  forbidden,
  isAdmin,
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

declare module '../../core/index.ts' {
  interface EventMap {
    /** Broadcast: every replica drops the key from its resolver cache at once. */
    'api_key.revoked': { id: string }
  }
}

export interface ApiKeyView {
  id: string
  name: string
  prefix: string
  scopes: string[]
  created_at: Date
  last_used_at: Date | null
}

export interface ApiKeysService {
  create(
    principal: Principal,
    input: { name: string; scopes: string[] },
    req: AuditRequest,
  ): Promise<ApiKeyView & { key: string }>
  list(principal: Principal, page: { skip: number; limit: number; after?: string }): Promise<Paged<ApiKeyView>>
  revoke(principal: Principal, id: string, req: AuditRequest): Promise<void>
  /** The bearer resolver for `osk_` keys (registered at start). */
  readonly resolver: CredentialResolver
  /** Writes the pending last_used_at times (every few seconds, and at stop). */
  flushUsage(): Promise<void>
  start(): void
  stop(): Promise<void>
}

const MAX_KEYS_PER_USER = 100
const COLUMNS = 'id, name, prefix, scopes, created_at, last_used_at'

/** A live key as the resolver caches it. */
interface LiveUserKey {
  id: string
  userId: string
  scopes: ReadonlySet<string>
}

export function createApiKeys(
  ctx: Pick<PluginContext, 'sql' | 'audit' | 'events' | 'auth' | 'logger'>,
  options: ApiKeyTimings = {},
): ApiKeysService {
  const sql: Sql = ctx.sql
  let unsubscribe: (() => void) | undefined

  const kit = createApiKeyKit<LiveUserKey>({
    ...options,
    prefix: 'osk_',
    table: 'api_keys',
    label: 'api key',
    sql,
    logger: ctx.logger,
    users: ctx.auth.users,
    async find(hash) {
      const [row] = await sql<{ id: string; user_id: string; scopes: string[] }[]>`
        select id, user_id, scopes from api_keys where key_hash = ${hash} and revoked_at is null`
      return row && { id: row.id, userId: row.user_id, scopes: new Set(row.scopes) }
    },
    userOf: (key) => key.userId,
    principal: (key, user) => ({ user, kind: 'api_key', scopes: key.scopes, credentialId: key.id }),
  })

  const sessionOnly = (principal: Principal) => {
    if (principal.kind === 'api_key') throw keysNeedSession()
  }

  return {
    resolver: kit.resolver,
    flushUsage: kit.flushUsage,

    async create(principal, input, req) {
      sessionOnly(principal)
      if (principal.actorId) throw forbidden('API keys cannot be created while impersonating')
      const user = principal.user
      const scopes = [...new Set(input.scopes)]
      if (scopes.includes('admin:full') && !isAdmin(user.role))
        throw validation('scopes', 'admin:full is reserved for admins')
      const name = input.name.trim()
      if (!name) throw validation('name', 'name must not be blank')
      const key = kit.generate()
      const created = await sql.begin(async (tx) => {
        const [{ n }] =
          (await tx`select count(*)::int as n from api_keys where user_id = ${user.id} and revoked_at is null`) as unknown as [
            { n: number },
          ]
        if (n >= MAX_KEYS_PER_USER)
          throw conflict(`At most ${MAX_KEYS_PER_USER} active API keys per user`, { limit: MAX_KEYS_PER_USER })
        const [row] = (await tx`
          insert into api_keys (user_id, name, prefix, key_hash, scopes)
          values (${user.id}, ${name}, ${key.slice(0, 12)}, ${hashApiKey(key)}, ${scopes}::text[])
          returning ${tx.unsafe(COLUMNS)}`) as unknown as [ApiKeyView]
        const a = ctx.audit.from(req)
        await ctx.audit.record(
          {
            ...a,
            action: 'api_key.create',
            resource_type: 'api_key',
            resource_id: row.id,
            details: { ...a.details, name, scopes, prefix: row.prefix },
          },
          tx,
        )
        return row
      })
      // The secret exists only in this response: it is not stored and cannot be shown again.
      return { ...created, key }
    },

    async list(principal, query) {
      sessionOnly(principal)
      const userId = principal.user.id
      // Served by api_keys_user_created_idx (live keys of one user, newest first).
      const result = await paged<ApiKeyView>(
        sql,
        { table: 'api_keys', columns: sql.unsafe(COLUMNS), where: sql`user_id = ${userId} and revoked_at is null` },
        query,
      )
      return { ...result, items: kit.withRecentUse(result.items) }
    },

    async revoke(principal, id, req) {
      sessionOnly(principal)
      if (!isUuid(id)) throw notFound('API key', id)
      await sql.begin(async (tx) => {
        const [row] = (await tx`
          update api_keys set revoked_at = now()
          where id = ${id} and user_id = ${principal.user.id} and revoked_at is null
          returning id, name, prefix`) as unknown as [{ id: string; name: string; prefix: string } | undefined]
        // Someone else's key is reported exactly like a missing one.
        if (!row) throw notFound('API key', id)
        const a = ctx.audit.from(req)
        await ctx.audit.record(
          {
            ...a,
            action: 'api_key.revoke',
            resource_type: 'api_key',
            resource_id: id,
            details: { ...a.details, name: row.name, prefix: row.prefix },
          },
          tx,
        )
      })
      kit.dropId(id)
      await ctx.events.publish('api_key.revoked', { id }, { broadcast: true })
      await ctx.events.publish('credential.revoked', { id }, { broadcast: true })
    },

    start() {
      ctx.auth.addResolver(kit.resolver)
      unsubscribe = ctx.events.subscribe('api_key.revoked', ({ id }) => kit.dropId(id))
      kit.start()
    },

    async stop() {
      unsubscribe?.()
      await kit.stop()
    },
  }
}

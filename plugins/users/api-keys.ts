/**
 * API keys (docs/auth.md#api-keys): `osk_` + 40 random characters shown once, a SHA-256 of it at rest, a bearer
 * resolver with a short cache, and last_used_at written in batches (no write per request).
 */
import { createHash, randomBytes } from 'node:crypto'
import {
  conflict,
  forbidden,
  isAdmin,
  isUuid,
  notFound,
  paged,
  unauthenticated,
  validation,
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

export interface ApiKeysOptions {
  /** How long a resolved key is trusted before it is read again (revocations also drop it at once). @default 30_000 */
  cacheTtlMs?: number
  /** How often last_used_at is written. @default 10_000 */
  flushIntervalMs?: number
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
const KEY_FORMAT = /^osk_[A-Za-z0-9]{40}$/
const MAX_KEYS_PER_USER = 100
const COLUMNS = 'id, name, prefix, scopes, created_at, last_used_at'

/** 40 characters of [A-Za-z0-9], uniformly (bytes >= 248 are dropped so that 62 divides evenly). */
export function generateKey(): string {
  let out = ''
  while (out.length < 40) {
    for (const b of randomBytes(48)) {
      if (b < 248 && out.length < 40) out += ALPHABET[b % 62]
    }
  }
  return `osk_${out}`
}

export const hashKey = (key: string) => createHash('sha256').update(key).digest('hex')

interface Cached {
  id: string
  userId: string
  scopes: ReadonlySet<string>
  until: number
}

export function createApiKeys(
  ctx: Pick<PluginContext, 'sql' | 'audit' | 'events' | 'auth' | 'logger'>,
  options: ApiKeysOptions = {},
): ApiKeysService {
  const sql: Sql = ctx.sql
  const ttl = options.cacheTtlMs ?? 30_000
  const cache = new Map<string, Cached>()
  const pending = new Map<string, Date>()
  let timer: ReturnType<typeof setInterval> | undefined
  let unsubscribe: (() => void) | undefined

  const dropId = (id: string) => {
    for (const [hash, c] of cache) if (c.id === id) cache.delete(hash)
    pending.delete(id)
  }

  const lookup = async (hash: string): Promise<Cached> => {
    const hit = cache.get(hash)
    if (hit && hit.until > Date.now()) return hit
    const [row] = await sql<{ id: string; user_id: string; scopes: string[] }[]>`
      select id, user_id, scopes from api_keys where key_hash = ${hash} and revoked_at is null`
    if (!row) {
      cache.delete(hash)
      throw unauthenticated('Invalid API key')
    }
    const entry = { id: row.id, userId: row.user_id, scopes: new Set(row.scopes), until: Date.now() + ttl }
    if (cache.size >= 10_000) cache.delete(cache.keys().next().value as string)
    cache.set(hash, entry)
    return entry
  }

  const resolver: CredentialResolver = {
    matches: (token) => token.startsWith('osk_'),
    async resolve(token) {
      if (!KEY_FORMAT.test(token)) throw unauthenticated('Invalid API key')
      const key = await lookup(hashKey(token))
      const user = ctx.auth.users.cached(key.userId) ?? (await ctx.auth.users.get(key.userId))
      if (!user) throw unauthenticated('Invalid API key')
      pending.set(key.id, new Date())
      // The authenticator refuses a deactivated owner with 403.
      return { user, kind: 'api_key', scopes: key.scopes, credentialId: key.id }
    },
  }

  const flushUsage = async () => {
    if (!pending.size) return
    const batch = [...pending]
    pending.clear()
    const ids = batch.map(([id]) => id)
    const times = batch.map(([, t]) => t.toISOString())
    try {
      await sql`
        update api_keys k set last_used_at = v.t
        from (select unnest(${ids}::text[])::uuid as id, unnest(${times}::text[])::timestamptz as t) v
        where k.id = v.id and (k.last_used_at is null or k.last_used_at < v.t)`
    } catch (err) {
      // Kept for the next flush unless a newer use replaced it.
      for (const [id, t] of batch) if (!pending.has(id)) pending.set(id, t)
      ctx.logger.warn('api key last_used_at flush failed', { error: err })
    }
  }

  const sessionOnly = (principal: Principal) => {
    if (principal.kind === 'api_key')
      throw forbidden('API keys cannot manage API keys; use a session', { required: 'session' })
  }

  return {
    resolver,
    flushUsage,

    async create(principal, input, req) {
      sessionOnly(principal)
      if (principal.actorId) throw forbidden('API keys cannot be created while impersonating')
      const user = principal.user
      const scopes = [...new Set(input.scopes)]
      if (scopes.includes('admin:full') && !isAdmin(user.role))
        throw validation('scopes', 'admin:full is reserved for admins')
      const name = input.name.trim()
      if (!name) throw validation('name', 'name must not be blank')
      const key = generateKey()
      const created = await sql.begin(async (tx) => {
        const [{ n }] =
          (await tx`select count(*)::int as n from api_keys where user_id = ${user.id} and revoked_at is null`) as unknown as [
            { n: number },
          ]
        if (n >= MAX_KEYS_PER_USER)
          throw conflict(`At most ${MAX_KEYS_PER_USER} active API keys per user`, { limit: MAX_KEYS_PER_USER })
        const [row] = (await tx`
          insert into api_keys (user_id, name, prefix, key_hash, scopes)
          values (${user.id}, ${name}, ${key.slice(0, 12)}, ${hashKey(key)}, ${scopes}::text[])
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
      const items = result.items.map((k) => {
        const recent = pending.get(k.id)
        return recent && (!k.last_used_at || k.last_used_at < recent) ? { ...k, last_used_at: recent } : k
      })
      return { ...result, items }
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
      dropId(id)
      await ctx.events.publish('api_key.revoked', { id }, { broadcast: true })
    },

    start() {
      ctx.auth.addResolver(resolver)
      unsubscribe = ctx.events.subscribe('api_key.revoked', ({ id }) => dropId(id))
      timer = setInterval(() => void flushUsage(), options.flushIntervalMs ?? 10_000)
      // Never keeps a process (a CLI, a test) alive on its own.
      const unref = (timer as { unref?: () => void }).unref
      unref?.call(timer)
    },

    async stop() {
      if (timer) clearInterval(timer)
      unsubscribe?.()
      await flushUsage()
    },
  }
}

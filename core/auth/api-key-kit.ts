/**
 * The machinery every kind of API key shares (docs/auth.md#api-keys): `<prefix>` + 40 random
 * characters shown once, a SHA-256 of it at rest, a bearer resolver with a short cache that a
 * revocation drops at once, and last_used_at written in batches (no write per request). What a
 * key acts as (its principal), which rows it lives in and who may manage it stay with the plugin
 * that owns the key; the core knows no plugin.
 */
import { createHash, randomBytes } from 'node:crypto'
import type { Sql } from '../db/index.ts'
import { forbidden, unauthenticated } from '../errors/index.ts'
import type { Logger } from '../observability/index.ts'
import type { CredentialResolver } from './credentials.ts'
import type { Principal, User } from './principal.ts'
import type { UserDirectory } from './user-directory.ts'

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
const SECRET_LENGTH = 40
/** Resolved keys kept at most; the oldest entry leaves first. */
const MAX_CACHED = 10_000

/** `prefix` + 40 characters of [A-Za-z0-9], uniform: bytes >= 248 are dropped (62 divides 248). */
export function generateApiKey(prefix: string): string {
  let out = ''
  while (out.length < SECRET_LENGTH) {
    for (const b of randomBytes(48)) {
      if (b < 248 && out.length < SECRET_LENGTH) out += ALPHABET[b % 62]
    }
  }
  return prefix + out
}

/** What is stored of a key: its SHA-256, hex (the key itself exists only in the create answer). */
export const hashApiKey = (key: string) => createHash('sha256').update(key).digest('hex')

/** Keys are managed from a person's session, never with a key (403, details.required: session). */
export const keysNeedSession = () =>
  forbidden('API keys cannot manage API keys; use a session', { required: 'session' })

/** A live key as its table holds it: the kit needs its id, the plugin reads the rest. */
export interface LiveKey {
  id: string
}

/** How long a resolved key is trusted, how often its use is written (a plugin's options). */
export interface ApiKeyTimings {
  /** How long a resolved key is trusted before it is read again. @default 30_000 */
  cacheTtlMs?: number
  /** How often last_used_at is written. @default 10_000 */
  flushIntervalMs?: number
}

export interface ApiKeyKitOptions<K extends LiveKey> extends ApiKeyTimings {
  /** The key's visible prefix (`osk_`): the resolver takes the bearer tokens that start with it. */
  prefix: string
  /** The table holding the keys: `id uuid`, `last_used_at timestamptz` (written in batches). */
  table: string
  /** Names the keys in the log (`api key`, `organization api key`). */
  label: string
  sql: Sql
  logger: Pick<Logger, 'warn'>
  users: Pick<UserDirectory, 'cached' | 'get'>
  /** The live (not revoked) key with this hash, or undefined. */
  find(hash: string): Promise<K | undefined>
  /** The user a key acts as. */
  userOf(key: K): string
  /** The principal of a request made with `key` as `user`. */
  principal(key: K, user: User): Principal
}

export interface ApiKeyKit<K extends LiveKey> {
  /** The bearer resolver of the prefix (the plugin registers it at start). */
  readonly resolver: CredentialResolver
  /** A new key: shown once, then only its hash and its first 12 characters are kept. */
  generate(): string
  /** Forgets the cached keys that `test` picks and their pending use: no longer trusted here. */
  drop(test: (key: K) => boolean): void
  /** Drops one key (a revocation, here or on another replica). */
  dropId(id: string): void
  /** Listed keys with a use this replica has seen but not written yet. */
  withRecentUse<T extends { id: string; last_used_at: Date | null }>(items: T[]): T[]
  /** Writes the pending last_used_at times. */
  flushUsage(): Promise<void>
  /** Starts the periodic flush. */
  start(): void
  /** Stops it and writes what is pending. */
  stop(): Promise<void>
}

type Cached<K> = K & { until: number }

export function createApiKeyKit<K extends LiveKey>(o: ApiKeyKitOptions<K>): ApiKeyKit<K> {
  const { sql } = o
  const ttl = o.cacheTtlMs ?? 30_000
  const format = new RegExp(`^${o.prefix}[A-Za-z0-9]{${SECRET_LENGTH}}$`)
  const cache = new Map<string, Cached<K>>()
  const pending = new Map<string, Date>()
  let timer: ReturnType<typeof setInterval> | undefined

  const lookup = async (hash: string): Promise<K> => {
    const hit = cache.get(hash)
    if (hit && hit.until > Date.now()) return hit
    const row = await o.find(hash)
    if (!row) {
      cache.delete(hash)
      throw unauthenticated('Invalid API key')
    }
    const entry = { ...row, until: Date.now() + ttl }
    if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value as string)
    cache.set(hash, entry)
    return entry
  }

  const resolver: CredentialResolver = {
    matches: (token) => token.startsWith(o.prefix),
    async resolve(token) {
      if (!format.test(token)) throw unauthenticated('Invalid API key')
      const key = await lookup(hashApiKey(token))
      const userId = o.userOf(key)
      const user = o.users.cached(userId) ?? (await o.users.get(userId))
      if (!user) throw unauthenticated('Invalid API key')
      pending.set(key.id, new Date())
      // The authenticator refuses a deactivated user with 403.
      return o.principal(key, user)
    },
  }

  const drop = (test: (key: K) => boolean) => {
    for (const [hash, c] of cache) {
      if (!test(c)) continue
      cache.delete(hash)
      pending.delete(c.id)
    }
  }

  const flushUsage = async () => {
    if (!pending.size) return
    const batch = [...pending]
    pending.clear()
    try {
      await sql`
        update ${sql(o.table)} k set last_used_at = v.t
        from (select unnest(${batch.map(([id]) => id)}::text[])::uuid as id,
                     unnest(${batch.map(([, t]) => t.toISOString())}::text[])::timestamptz as t) v
        where k.id = v.id and (k.last_used_at is null or k.last_used_at < v.t)`
    } catch (err) {
      // Kept for the next flush unless a newer use replaced it.
      for (const [id, t] of batch) if (!pending.has(id)) pending.set(id, t)
      o.logger.warn(`${o.label} last_used_at flush failed`, { error: err })
    }
  }

  return {
    resolver,
    generate: () => generateApiKey(o.prefix),
    drop,
    dropId(id) {
      drop((c) => c.id === id)
      pending.delete(id)
    },
    withRecentUse: (items) =>
      items.map((k) => {
        const recent = pending.get(k.id)
        const newer = recent && (!k.last_used_at || k.last_used_at < recent)
        return newer ? { ...k, last_used_at: recent } : k
      }),
    flushUsage,
    start() {
      timer = setInterval(() => void flushUsage(), o.flushIntervalMs ?? 10_000)
      // Never keeps a process (a CLI, a test) alive on its own.
      const unref = (timer as { unref?: () => void }).unref
      unref?.call(timer)
    },
    async stop() {
      if (timer) clearInterval(timer)
      await flushUsage()
    },
  }
}

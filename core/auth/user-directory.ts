/**
 * Users as the auth path sees them: provisioned on first sight of a `sub` (docs/auth.md#users-and-roles) and cached
 * so that an authenticated request costs no database round trip. The cache is short-lived and
 * dropped at once by invalidate() (the admin plugin broadcasts it to every replica).
 */
import type { Sql } from '../db/index.ts'
import type { Role, User } from './principal.ts'

export interface ProvisionClaims {
  sub: string
  email?: unknown
  name?: unknown
  full_name?: unknown
  picture?: unknown
  avatar_url?: unknown
  /** Supabase puts the profile here. */
  user_metadata?: { full_name?: unknown; name?: unknown; avatar_url?: unknown; picture?: unknown }
}

export interface UserDirectory {
  cached(id: string): User | undefined
  /** The user row, inserted on first sight. `onCreated` runs once per new user. */
  ensure(claims: ProvisionClaims): Promise<User>
  get(id: string): Promise<User | undefined>
  invalidate(id?: string): void
}

export interface UserDirectoryOptions {
  sql: Sql
  adminEmails: readonly string[]
  superadminEmails: readonly string[]
  ttlMs?: number
  maxEntries?: number
  onCreated?: (user: User) => void
  now?: () => number
}

const str = (v: unknown, max: number) => (typeof v === 'string' && v.length > 0 ? v.slice(0, max) : null)

export function createUserDirectory(o: UserDirectoryOptions): UserDirectory {
  const ttl = o.ttlMs ?? 30_000
  const max = o.maxEntries ?? 50_000
  const now = o.now ?? Date.now
  const admins = new Set(o.adminEmails.map((e) => e.toLowerCase()))
  const superadmins = new Set(o.superadminEmails.map((e) => e.toLowerCase()))
  const cache = new Map<string, { user: User; until: number }>()

  const remember = (user: User) => {
    if (cache.size >= max) cache.delete(cache.keys().next().value as string)
    cache.set(user.id, { user, until: now() + ttl })
    return user
  }

  const roleFor = (email: string | null): Role => {
    const e = email?.toLowerCase()
    if (e && superadmins.has(e)) return 'superadmin'
    if (e && admins.has(e)) return 'admin'
    return 'user'
  }

  return {
    cached(id) {
      const hit = cache.get(id)
      if (!hit) return undefined
      if (hit.until < now()) {
        cache.delete(id)
        return undefined
      }
      return hit.user
    },
    async ensure(claims) {
      const email = str(claims.email, 320)
      const meta = typeof claims.user_metadata === 'object' && claims.user_metadata !== null ? claims.user_metadata : {}
      const name = str(claims.full_name ?? claims.name ?? meta.full_name ?? meta.name, 255)
      const avatar = str(claims.avatar_url ?? claims.picture ?? meta.avatar_url ?? meta.picture, 2048)
      // One round trip: insert when new, else read the existing row. The database role is
      // authoritative (docs/auth.md#users-and-roles); ADMIN_EMAILS only applies at provisioning.
      const rows = await o.sql<(User & { created_now: boolean })[]>`
        with ins as (
          insert into users (id, email, full_name, avatar_url, role)
          values (${claims.sub}, ${email}, ${name}, ${avatar}, ${roleFor(email)})
          on conflict (id) do nothing
          returning *, true as created_now
        )
        select * from ins
        union all
        select *, false as created_now from users where id = ${claims.sub} and not exists (select 1 from ins)`
      let row = rows[0]
      if (!row) {
        // A concurrent first request inserted the row after this statement's snapshot was taken:
        // the insert found the conflict but the select could not see the row. A new statement can.
        ;[row] = await o.sql<
          (User & { created_now: boolean })[]
        >`select *, false as created_now from users where id = ${claims.sub}`
      }
      if (!row) throw new Error('user provisioning returned no row')
      const { created_now, ...user } = row
      if (created_now) o.onCreated?.(user)
      return remember(user)
    },
    async get(id) {
      const [row] = await o.sql<User[]>`select * from users where id = ${id}`
      return row ? remember(row) : undefined
    },
    invalidate(id) {
      if (id === undefined) cache.clear()
      else cache.delete(id)
    },
  }
}

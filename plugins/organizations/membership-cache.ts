/**
 * Memberships as the X-Organization-ID resolver and dependents ask for them on every request
 * (docs/plugins/organizations.md#the-x-organization-id-header): cached per (user, org) with a TTL
 * and a size bound, so a warm request reads no database. Every membership change is published
 * on the bus with `broadcast`, and every replica drops the entries it names on receipt.
 */
import type { OrgRole } from './roles.ts'

export interface MembershipCacheOptions {
  load(orgId: string, userId: string): Promise<OrgRole | undefined>
  /** @default 30_000 */
  ttlMs?: number
  /** @default 10_000 */
  maxEntries?: number
  now?: () => number
}

export interface MembershipCache {
  get(orgId: string, userId: string): Promise<OrgRole | undefined>
  /** Drops one membership, or every membership of the organization when `userId` is absent. */
  invalidate(orgId: string, userId?: string): void
  readonly size: number
}

interface Entry {
  role: OrgRole | undefined
  expires: number
}

export function createMembershipCache(o: MembershipCacheOptions): MembershipCache {
  const ttl = o.ttlMs ?? 30_000
  const max = o.maxEntries ?? 10_000
  const now = o.now ?? Date.now
  const entries = new Map<string, Entry>()
  // Bumped by every invalidation: a load that started before one must not store its (stale) answer.
  let generation = 0
  const key = (orgId: string, userId: string) => `${orgId} ${userId}`

  return {
    async get(orgId, userId) {
      const k = key(orgId, userId)
      const hit = entries.get(k)
      if (hit && hit.expires > now()) return hit.role
      if (hit) entries.delete(k)
      const started = generation
      const role = await o.load(orgId, userId)
      if (started === generation) {
        // Map keeps insertion order: the first key is the oldest entry.
        if (entries.size >= max) entries.delete(entries.keys().next().value!)
        entries.set(k, { role, expires: now() + ttl })
      }
      return role
    },
    invalidate(orgId, userId) {
      generation++
      if (userId !== undefined) return void entries.delete(key(orgId, userId))
      const prefix = `${orgId} `
      for (const k of entries.keys()) if (k.startsWith(prefix)) entries.delete(k)
    },
    get size() {
      return entries.size
    },
  }
}

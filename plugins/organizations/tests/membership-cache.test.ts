/** The membership cache of the X-Organization-ID resolver: warm reads hit no loader, TTL, size bound, invalidation, no stale store. */
import { describe, expect, it } from 'bun:test'
import { createMembershipCache } from '../membership-cache.ts'
import type { OrgRole } from '../roles.ts'

describe('membership cache', () => {
  it('loads once while warm, again after the TTL or an invalidation', async () => {
    let at = 0
    const loads: string[] = []
    const cache = createMembershipCache({
      ttlMs: 100,
      now: () => at,
      load: async (org, user) => (loads.push(`${org}/${user}`), user === 'm' ? 'member' : undefined),
    })
    expect(await cache.get('o', 'm')).toBe('member')
    expect(await cache.get('o', 'm')).toBe('member')
    expect(await cache.get('o', 'x')).toBeUndefined()
    expect(await cache.get('o', 'x')).toBeUndefined() // absence is cached too
    expect(loads).toEqual(['o/m', 'o/x'])
    at = 101
    await cache.get('o', 'm')
    expect(loads.length).toBe(3)
    cache.invalidate('o', 'm')
    await cache.get('o', 'm')
    expect(loads.length).toBe(4)
    cache.invalidate('o') // the whole organization
    await cache.get('o', 'm')
    await cache.get('o', 'x')
    expect(loads.length).toBe(6)
  })

  it('keeps at most maxEntries, dropping the oldest', async () => {
    const cache = createMembershipCache({ maxEntries: 3, load: async () => 'member' })
    for (const u of ['a', 'b', 'c', 'd']) await cache.get('o', u)
    expect(cache.size).toBe(3)
  })

  it('does not store an answer loaded before an invalidation (it may be stale)', async () => {
    let release!: () => void
    let role: OrgRole = 'member'
    let loads = 0
    const cache = createMembershipCache({
      load: async () => {
        loads++
        const answer = role
        if (loads === 1) await new Promise<void>((r) => (release = r))
        return answer
      },
    })
    const first = cache.get('o', 'u')
    role = 'admin'
    cache.invalidate('o', 'u') // the change lands while the first load is in flight
    release()
    expect(await first).toBe('member')
    expect(await cache.get('o', 'u')).toBe('admin')
    expect(loads).toBe(2)
  })
})

/** Bounded LRU of verified tokens, each entry valid until an absolute expiry (docs/performance-notes.md#jwt-verification-dominates). */

export interface TokenCache<V> {
  /** The value while `now() < expiresAt`; an expired entry is dropped and reads as a miss. */
  get(key: string): V | undefined
  set(key: string, value: V, expiresAt: number): void
  delete(key: string): void
  clear(): void
  readonly size: number
}

export interface TokenCacheOptions {
  /** @default 10_000 */
  maxEntries?: number
  /** Clock in epoch milliseconds. @default Date.now */
  now?: () => number
}

interface Entry<V> {
  value: V
  expiresAt: number
}

export function createTokenCache<V>(options: TokenCacheOptions = {}): TokenCache<V> {
  const maxEntries = options.maxEntries ?? 10_000
  if (!Number.isInteger(maxEntries) || maxEntries < 0) {
    throw new TypeError('Token cache size must be a non-negative integer')
  }
  const now = options.now ?? Date.now
  // A Map iterates in insertion order, so re-inserting on a hit keeps the least recently used
  // entry first and eviction is one keys().next(): no linked list to maintain.
  const entries = new Map<string, Entry<V>>()
  // The most recently used key is already last: a hit on it (a client's burst) moves nothing.
  let newest: string | undefined

  return {
    get(key) {
      const entry = entries.get(key)
      if (entry === undefined) return undefined
      if (now() >= entry.expiresAt) {
        entries.delete(key)
        if (key === newest) newest = undefined
        return undefined
      }
      if (key !== newest) {
        entries.delete(key)
        entries.set(key, entry)
        newest = key
      }
      return entry.value
    },
    set(key, value, expiresAt) {
      if (maxEntries === 0 || now() >= expiresAt) return
      entries.delete(key)
      while (entries.size >= maxEntries) {
        const oldest = entries.keys().next()
        if (oldest.done) break
        entries.delete(oldest.value)
      }
      entries.set(key, { value, expiresAt })
      newest = key
    },
    delete(key) {
      entries.delete(key)
      if (key === newest) newest = undefined
    },
    clear() {
      entries.clear()
      newest = undefined
    },
    get size() {
      return entries.size
    },
  }
}

/** Readiness of Redis (the `cache` component of /health/ready) over its own small connection. */
import Redis from 'ioredis'
import type { Check } from '../observability/index.ts'

export function redisCheck(url: string): { check: Check; close(): Promise<void> } {
  // No offline queue and one retry: a readiness probe must answer "down" quickly, not wait.
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 1000,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  })
  redis.on('error', () => {}) // reported through the check, not as unhandled events
  return {
    async check() {
      if (redis.status === 'wait' || redis.status === 'end') await redis.connect()
      const pong = await redis.ping()
      if (pong !== 'PONG') throw new Error(`unexpected answer ${pong}`)
    },
    async close() {
      redis.disconnect()
    },
  }
}

/** Rate limits (docs/rate-limits.md): rules, in-process and Redis counter stores, route classes and headers. */
export type { RateLimitStore, RateResult, RateRule } from './types.ts'
export { parseRate } from './rate.ts'
export { createMemoryStore, type MemoryStore, type MemoryStoreOptions } from './store-memory.ts'
export { createRedisStore, type RedisStoreOptions } from './store-redis.ts'
export { createLimiter, rateHeaders, rateLimitError, type Limiter, type RateClass } from './limiter.ts'

/**
 * Shared fixed-window counters in Redis (docs/rate-limits.md#stores): one atomic script per hit, so replicas
 * together admit exactly the limit. Falls back to in-process counters while Redis is away.
 */
import { Redis } from 'ioredis'
import { traceRedis, type Logger } from '../observability/index.ts'
import { peekResult, windowResult } from './rate.ts'
import { createMemoryStore } from './store-memory.ts'
import type { RateLimitStore, RateResult, RateRule } from './types.ts'

export interface RedisStoreOptions {
  url: string
  logger: Logger
  /** Prepended to every key. @default 'omnistack:rl:' */
  prefix?: string
  /** Counts hits while Redis is unreachable. @default a new memory store */
  fallback?: RateLimitStore
  /** REDIS_CONNECT_TIMEOUT_MS. @default 2000 */
  connectTimeoutMs?: number
  /** REDIS_COMMAND_TIMEOUT_MS: a hit falls back to the memory store after this. @default 500 */
  commandTimeoutMs?: number
  /** OTEL_ENABLED: a span per command during a traced request (docs/observability.md#child-spans). */
  traced?: boolean
}

// INCR, PEXPIRE when the window opens, PTTL: one round trip, atomic on the server. The
// `ttl < 0` branch repairs a key that lost its expiry (written by hand, say) so it cannot
// lock a client out for ever.
const HIT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}`

const PEEK = `
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
return {n, redis.call('PTTL', KEYS[1])}`

type Reply = [number, number]
interface Scripted {
  rateHit(key: string, windowMs: number): Promise<Reply>
  ratePeek(key: string): Promise<Reply>
}

/** After a failed command on a connection that still looks ready, how long before Redis is tried again. */
const PROBE_MS = 1_000

export function createRedisStore(options: RedisStoreOptions): RateLimitStore {
  const { logger } = options
  const prefix = options.prefix ?? 'omnistack:rl:'
  const fallback = options.fallback ?? createMemoryStore()
  const client = new Redis(options.url, {
    // Never queue while disconnected: a hit must answer now, from the fallback if need be.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: options.connectTimeoutMs ?? 2_000,
    commandTimeout: options.commandTimeoutMs ?? 500,
    // Keep reconnecting for ever, at most a second apart, so the return to Redis is quick.
    retryStrategy: (times) => Math.min(times * 100, 1_000),
    lazyConnect: false,
  })
  if (options.traced) traceRedis(client)
  client.defineCommand('rateHit', { numberOfKeys: 1, lua: HIT })
  client.defineCommand('ratePeek', { numberOfKeys: 1, lua: PEEK, readOnly: true })
  const scripted = client as unknown as Scripted

  let down = false // an outage has been logged and not yet its recovery
  let probeAt = 0
  let closed = false

  const markDown = (err: unknown) => {
    probeAt = Date.now() + PROBE_MS
    if (down || closed) return
    down = true
    logger.warn('rate limit: Redis unreachable, counting in-process until it is back', {
      error: err instanceof Error ? err.message : String(err),
    })
  }
  const markUp = () => {
    if (!down || closed) return
    down = false
    logger.info('rate limit: Redis is back, counters shared again')
  }
  client.on('error', markDown)
  client.on('close', () => markDown(new Error('connection closed')))
  client.on('ready', markUp)

  // The first hits after start wait for the first connection (bounded by connectTimeout)
  // rather than count apart from the other replicas.
  let firstReady: Promise<void> | undefined = new Promise<void>((resolve) => {
    const settle = () => {
      client.off('ready', settle)
      client.off('error', settle)
      firstReady = undefined
      resolve()
    }
    client.once('ready', settle)
    client.once('error', settle)
  })

  const usable = () => client.status === 'ready' && (!down || Date.now() >= probeAt)

  const viaRedis = async <T>(
    run: () => Promise<Reply>,
    fromReply: (r: Reply, now: number) => T,
    fromFallback: () => T | Promise<T>,
  ): Promise<T> => {
    try {
      const reply = await run()
      markUp()
      return fromReply(reply, Date.now())
    } catch (err) {
      markDown(err)
      return fromFallback()
    }
  }

  const hit = (key: string, rule: RateRule): RateResult | Promise<RateResult> => {
    if (firstReady) return firstReady.then(() => hit(key, rule))
    if (!usable()) return fallback.hit(key, rule)
    return viaRedis(
      () => scripted.rateHit(prefix + key, rule.windowMs),
      ([n, ttl], now) => windowResult(rule, Number(n), now + Number(ttl), now),
      () => fallback.hit(key, rule),
    )
  }

  const peek = (key: string, rule: RateRule): RateResult | Promise<RateResult> => {
    if (firstReady) return firstReady.then(() => peek(key, rule))
    if (!usable()) return fallback.peek(key, rule)
    return viaRedis(
      () => scripted.ratePeek(prefix + key),
      ([n, ttl], now) => peekResult(rule, Number(n), now + (Number(ttl) > 0 ? Number(ttl) : rule.windowMs), now),
      () => fallback.peek(key, rule),
    )
  }

  return {
    hit,
    peek,
    async close() {
      closed = true
      if (client.status === 'ready') await client.quit().catch(() => client.disconnect())
      else client.disconnect()
      await fallback.close()
    },
  }
}

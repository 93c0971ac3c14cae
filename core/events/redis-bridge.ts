/**
 * Carries broadcast events between replicas over Redis pub/sub: one publishing and one
 * subscribed connection per replica, outage and recovery logged once each.
 */
import { Redis, type RedisOptions } from 'ioredis'
import { traceRedis, type Logger } from '../observability/index.ts'

/** What travels on the channel. */
export interface BridgeMessage {
  v: 1
  id: string
  name: string
  origin: string
  payload?: unknown
}

export interface RedisBridgeOptions {
  url: string
  channel: string
  instanceId: string
  logger: Logger
  /** Called for every message from another replica (our own echoes are dropped here). */
  onMessage(message: BridgeMessage): void
  /** REDIS_CONNECT_TIMEOUT_MS. @default 2000 */
  connectTimeoutMs?: number
  /** REDIS_COMMAND_TIMEOUT_MS (a publish). @default 1000 */
  commandTimeoutMs?: number
  /** OTEL_ENABLED: a span per PUBLISH sent during a traced request (docs/observability.md#child-spans). */
  traced?: boolean
}

export interface RedisBridge {
  /** Sends a serialised BridgeMessage. Never rejects: while Redis is away it goes nowhere. */
  publish(json: string): Promise<void>
  close(): Promise<void>
}

const CONNECTION: RedisOptions = {
  // A publish must not wait for a reconnect: fail at once and let local delivery stand.
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  connectTimeout: 2_000,
  commandTimeout: 1_000,
  retryStrategy: (times) => Math.min(times * 100, 1_000),
  // We subscribe again ourselves on every 'ready' (below), which also covers a first
  // SUBSCRIBE that could not be sent because Redis was down at start.
  autoResubscribe: false,
}

export function createRedisBridge(options: RedisBridgeOptions): RedisBridge {
  const { logger, channel, instanceId } = options
  const connection: RedisOptions = {
    ...CONNECTION,
    connectTimeout: options.connectTimeoutMs ?? CONNECTION.connectTimeout,
    commandTimeout: options.commandTimeoutMs ?? CONNECTION.commandTimeout,
  }
  const pub = new Redis(options.url, connection)
  if (options.traced) traceRedis(pub)
  const sub = new Redis(options.url, connection)
  let subscribed = false
  let down = false
  let closed = false

  const markDown = (err?: unknown) => {
    if (down || closed) return
    down = true
    logger.warn('events: Redis unreachable, broadcast events stay on this replica until it is back', {
      channel,
      error: err instanceof Error ? err.message : err === undefined ? 'connection closed' : String(err),
    })
  }
  const checkUp = () => {
    if (!down || closed || !subscribed || pub.status !== 'ready') return
    down = false
    logger.info('events: Redis is back, broadcast events cross replicas again', { channel })
  }

  // The first publishes after start wait for the first connection (bounded by connectTimeout).
  let firstReady: Promise<void> | undefined = new Promise<void>((resolve) => {
    const settle = () => {
      pub.off('ready', settle)
      pub.off('error', settle)
      firstReady = undefined
      resolve()
    }
    pub.once('ready', settle)
    pub.once('error', settle)
  })

  pub.on('error', markDown)
  pub.on('close', () => markDown())
  pub.on('ready', checkUp)

  sub.on('error', markDown)
  sub.on('close', () => {
    subscribed = false
    markDown()
  })
  sub.on('ready', () => {
    // The reply to SUBSCRIBE means the server has registered us: from here on nothing
    // published by another replica is missed.
    sub.subscribe(channel).then(
      () => {
        subscribed = true
        checkUp()
      },
      (err) => markDown(err),
    )
  })
  sub.on('message', (from: string, raw: string) => {
    if (from !== channel) return
    let message: BridgeMessage
    try {
      message = JSON.parse(raw)
    } catch {
      logger.warn('events: dropped a malformed message', { channel })
      return
    }
    // This replica delivered its own event when it published it (exactly once).
    if (message?.v !== 1 || message.origin === instanceId || typeof message.name !== 'string') return
    options.onMessage(message)
  })

  return {
    async publish(json) {
      if (firstReady) await firstReady
      // Not ready means the 'close' or 'error' above has already logged the outage.
      if (closed || pub.status !== 'ready') return
      try {
        await pub.publish(channel, json)
      } catch (err) {
        markDown(err)
      }
    },
    async close() {
      closed = true
      await Promise.all(
        [pub, sub].map((c) =>
          c.status === 'ready'
            ? c.quit().then(
                () => {},
                () => c.disconnect(),
              )
            : c.disconnect(),
        ),
      )
    },
  }
}

/**
 * The typed event bus (docs/jobs-and-events.md#events): in-process by default; with a Redis URL, `broadcast`
 * events reach the subscribers of every replica exactly once.
 */
import type { Logger } from '../observability/index.ts'
import { createRedisBridge, type BridgeMessage, type RedisBridge } from './redis-bridge.ts'
import type { EventBus, EventHandler, EventMeta, EventName } from './types.ts'

export interface EventBusOptions {
  /** Unset = in-process only (broadcast events then reach this replica alone). */
  redisUrl?: string
  logger: Logger
  /** Redis pub/sub channel shared by the replicas of one deployment. @default 'omnistack:events' */
  channel?: string
  /** Names this replica in event metadata; must differ per replica. @default a random UUID */
  instanceId?: string
  /** Redis connect and command timeouts (REDIS_CONNECT_TIMEOUT_MS, REDIS_COMMAND_TIMEOUT_MS). */
  connectTimeoutMs?: number
  commandTimeoutMs?: number
  /** OTEL_ENABLED: spans for the Redis commands sent during a traced request (docs/observability.md#child-spans). */
  traced?: boolean
}

type AnyHandler = (payload: unknown, meta: EventMeta) => void | Promise<void>

export function createEventBus(options: EventBusOptions): EventBus {
  const { logger } = options
  const instanceId = options.instanceId ?? crypto.randomUUID()
  const handlers = new Map<string, Set<AnyHandler>>()
  let closed = false

  const fail = (meta: EventMeta, err: unknown) =>
    logger.error('event handler failed', { event: meta.name, event_id: meta.id, origin: meta.origin, err })

  // Each handler runs in its own microtask: after the publisher's synchronous code, and
  // isolated, so a throw or a rejection reaches the log and nobody else.
  const deliver = (payload: unknown, meta: EventMeta) => {
    const set = handlers.get(meta.name)
    if (!set) return
    for (const handler of set) {
      queueMicrotask(() => {
        try {
          const r = handler(payload, meta)
          if (r && typeof (r as Promise<void>).then === 'function')
            (r as Promise<void>).then(undefined, (err) => fail(meta, err))
        } catch (err) {
          fail(meta, err)
        }
      })
    }
  }

  const bridge: RedisBridge | undefined = options.redisUrl
    ? createRedisBridge({
        url: options.redisUrl,
        channel: options.channel ?? 'omnistack:events',
        instanceId,
        logger,
        connectTimeoutMs: options.connectTimeoutMs,
        commandTimeoutMs: options.commandTimeoutMs,
        traced: options.traced,
        onMessage: (m: BridgeMessage) => {
          if (!closed) deliver(m.payload, { name: m.name, origin: m.origin, id: m.id })
        },
      })
    : undefined

  return {
    async publish(name, payload, publishOptions) {
      if (closed) return
      const meta: EventMeta = { name, origin: instanceId, id: crypto.randomUUID() }
      if (!publishOptions?.broadcast) return deliver(payload, meta)
      const message: BridgeMessage = { v: 1, ...meta, payload }
      // Serialised once: other replicas get this JSON, and so do local subscribers (as a
      // fresh copy), so a payload that does not survive JSON fails here, on every setup.
      const json = JSON.stringify(message)
      deliver((JSON.parse(json) as BridgeMessage).payload, meta)
      await bridge?.publish(json)
    },
    subscribe<K extends EventName>(name: K, handler: EventHandler<K>) {
      let set = handlers.get(name)
      if (!set) handlers.set(name, (set = new Set()))
      // Wrapped, so subscribing the same function twice gives two independent subscriptions.
      const entry: AnyHandler = (payload, meta) => handler(payload as never, meta)
      set.add(entry)
      return () => {
        set.delete(entry)
        if (set.size === 0 && handlers.get(name) === set) handlers.delete(name)
      }
    },
    async close() {
      if (closed) return
      closed = true
      handlers.clear()
      await bridge?.close()
    },
  }
}

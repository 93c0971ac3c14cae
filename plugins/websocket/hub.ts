/**
 * One replica's realtime state: its connections, who listens to which channel, and the bridge to
 * the other replicas through the core event bus (one Redis subscription per replica, not per
 * socket). Local fan-out is the runtime's native pub/sub (Bun: server.publish).
 */
import type { EventBus, Logger, PluginContext, Principal, RealtimeSocket, SocketServer } from '../../core/index.ts'

export interface Conn {
  readonly id: string
  principal: Principal
  readonly userId: string
  readonly connectedAt: string
  ws?: RealtimeSocket<Conn>
  readonly channels: Set<string>
  /** Subscribes waiting for their authoriser: channel -> attempt token. */
  readonly pending: Map<string, symbol>
  /** Per-connection rate limit: fixed one-second windows. */
  windowStart: number
  count: number
  warned: boolean
  strikes: number
  /** Unix ms when the bearer expires (JWT sessions); the socket closes then. */
  expiresAt?: number
  expiry?: ReturnType<typeof setTimeout>
  closed: boolean
}

/** What crosses replicas on the bus (broadcast events, JSON). */
export interface DeliverEvent {
  origin: string
  topic: string
  frame: string
  /** Set when several replicas may publish the same delivery (deduplicated by it). */
  key?: string
}

export interface RecheckEvent {
  origin: string
  channel: string
  /** The resource is gone: drop every subscriber without asking the authoriser. */
  drop: boolean
  key?: string
}

declare module '../../core/index.ts' {
  interface EventMap {
    /** A frame for a topic, carried to every replica (internal to this plugin). */
    'websocket.deliver': DeliverEvent
    /** Re-authorise or drop a channel's subscribers on every replica (internal). */
    'websocket.recheck': RecheckEvent
  }
}

export interface Hub {
  /** This replica's id in the events it publishes. */
  readonly replica: string
  readonly conns: Set<Conn>
  add(conn: Conn): void
  remove(conn: Conn): void
  join(conn: Conn, channel: string): void
  leave(conn: Conn, channel: string): void
  subscribersOf(channel: string): ReadonlySet<Conn> | undefined
  connsOf(userId: string): ReadonlySet<Conn> | undefined
  /** Local subscribers (but `except`) at once, then every other replica, each exactly once. */
  deliver(topic: string, frame: string, options?: { except?: RealtimeSocket<Conn>; key?: string }): Promise<void>
  /** Re-authorise (or drop) the subscribers of `channel` on every replica. */
  recheck(channel: string, drop: boolean, key?: string): Promise<void>
  /** Called on every replica for a recheck (set by the endpoint). */
  onRecheck?: (channel: string, drop: boolean) => void | Promise<void>
  attach(server: SocketServer): void
  close(): void
}

const SEEN_MAX = 10_000

/** Prometheus counter shared with the endpoint (in: accepted client messages; out: publishes). */
export const MESSAGES_TOTAL = {
  name: 'websocket_messages_total',
  help: 'WebSocket messages: in = accepted from clients, out = published to a channel or user',
}

export function createHub(events: EventBus, logger: Logger, metrics: PluginContext['metrics']): Hub {
  const replica = crypto.randomUUID()
  const published = metrics.counter(MESSAGES_TOTAL.name, MESSAGES_TOTAL.help, ['direction'])
  const conns = new Set<Conn>()
  const byChannel = new Map<string, Set<Conn>>()
  const byUser = new Map<string, Set<Conn>>()
  // Keys of deliveries already made here, oldest first (Map keeps insertion order).
  const seen = new Map<string, true>()
  let server: SocketServer | undefined

  const firstTime = (key: string | undefined) => {
    if (key === undefined) return true
    if (seen.has(key)) return false
    seen.set(key, true)
    if (seen.size > SEEN_MAX) seen.delete(seen.keys().next().value as string)
    return true
  }

  const add = <K>(map: Map<K, Set<Conn>>, key: K, conn: Conn) => {
    let set = map.get(key)
    if (!set) map.set(key, (set = new Set()))
    set.add(conn)
  }
  const del = <K>(map: Map<K, Set<Conn>>, key: K, conn: Conn) => {
    const set = map.get(key)
    if (!set) return
    set.delete(conn)
    if (set.size === 0) map.delete(key)
  }

  const hub: Hub = {
    replica,
    conns,
    add(conn) {
      conns.add(conn)
      add(byUser, conn.userId, conn)
    },
    remove(conn) {
      conns.delete(conn)
      del(byUser, conn.userId, conn)
      for (const channel of conn.channels) del(byChannel, channel, conn)
      conn.channels.clear()
      conn.pending.clear()
    },
    join(conn, channel) {
      conn.channels.add(channel)
      conn.ws?.subscribe(channel)
      add(byChannel, channel, conn)
    },
    leave(conn, channel) {
      conn.channels.delete(channel)
      if (!conn.closed) conn.ws?.unsubscribe(channel)
      del(byChannel, channel, conn)
    },
    subscribersOf: (channel) => byChannel.get(channel),
    connsOf: (userId) => byUser.get(userId),
    async deliver(topic, frame, options = {}) {
      if (!firstTime(options.key)) return
      published.inc({ direction: 'out' })
      if (options.except) options.except.publish(topic, frame)
      else server?.publish(topic, frame)
      const event: DeliverEvent = { origin: replica, topic, frame, key: options.key }
      await events.publish('websocket.deliver', event, { broadcast: true })
    },
    async recheck(channel, drop, key) {
      if (!firstTime(key)) return
      const event: RecheckEvent = { origin: replica, channel, drop, key }
      // Other replicas need not wait for this one's authoriser round trips.
      await Promise.all([
        events.publish('websocket.recheck', event, { broadcast: true }),
        hub.onRecheck?.(channel, drop),
      ])
    },
    attach(s) {
      server = s
    },
    close() {
      for (const off of offs) off()
      offs.length = 0
    },
  }

  // Our own events come back from the bus's local delivery: this replica already acted on them.
  const offs = [
    events.subscribe('websocket.deliver', (payload) => {
      const e = payload as DeliverEvent
      if (e.origin === replica || !firstTime(e.key)) return
      server?.publish(e.topic, e.frame)
    }),
    events.subscribe('websocket.recheck', async (payload) => {
      const e = payload as RecheckEvent
      if (e.origin === replica || !firstTime(e.key)) return
      try {
        await hub.onRecheck?.(e.channel, e.drop)
      } catch (err) {
        logger.error('websocket: channel recheck failed', { channel: e.channel, error: err })
      }
    }),
  ]
  return hub
}

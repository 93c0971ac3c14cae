/**
 * The `/app/ws` endpoint: one connection's life (connected event, subscribe / unsubscribe /
 * message / ping), its limits (size, rate, subscriptions, token expiry) and the re-authorisation
 * of channels when a resource or a user changes.
 */
import { Buffer } from 'node:buffer'
import type { Logger, MeterFn, PluginContext, RealtimeSocket, SocketEndpoint } from '../../core/index.ts'
import { MESSAGES_TOTAL, type Conn, type Hub } from './hub.ts'
import { CLOSE, frames, parseClientMessage, tooLarge, userTopic, type WsErrorCode } from './protocol.ts'

export interface WebsocketConfig {
  maxMessageBytes: number
  messagesPerSecond: number
  rateLimitStrikes: number
  maxSubscriptions: number
  idleTimeoutSeconds: number
  backpressureBytes: number
  closeOnTokenExpiry: boolean
}

interface Deps {
  hub: Hub
  config: WebsocketConfig
  channels: PluginContext['channels']
  users: PluginContext['auth']['users']
  meter: MeterFn
  metrics: PluginContext['metrics']
  logger: Logger
}

/** A burst this many times over the per-second limit is abuse at once (close 1008). */
const BURST_FACTOR = 5
const MAX_TIMER_MS = 2 ** 31 - 1

export interface Endpoint {
  endpoint: SocketEndpoint<Conn>
  /** A user's role or activation changed (`user.changed`): refresh, re-authorise, or close. */
  userChanged(id: string): Promise<void>
  /** An API key or impersonation session ended: close the sockets opened with it. */
  credentialRevoked(id: string): void
}

export function createEndpoint(d: Deps): Endpoint {
  const { hub, config } = d
  const messages = d.metrics.counter(MESSAGES_TOTAL.name, MESSAGES_TOTAL.help, ['direction'])
  const errors = d.metrics.counter('websocket_errors_total', 'WebSocket error events sent, by code', ['code'])
  d.metrics.gauge('websocket_connections', 'Open WebSocket connections on this replica', [], () => hub.conns.size)

  const fail = (conn: Conn, code: WsErrorCode, message: string, extra?: Record<string, unknown>) => {
    errors.inc({ code })
    conn.ws?.send(frames.error(code, message, extra))
  }

  const shut = (conn: Conn, code: number, reason: string) => {
    if (conn.closed) return
    conn.ws?.close(code, reason)
  }

  /** Fixed one-second windows; true when this frame may be processed. */
  const admit = (conn: Conn): boolean => {
    const now = performance.now()
    const elapsed = now - conn.windowStart
    if (elapsed >= 1000) {
      // A window over the limit right before this one is a strike; a clean or silent one clears them.
      conn.strikes = conn.count > config.messagesPerSecond && elapsed < 2000 ? conn.strikes + 1 : 0
      conn.windowStart = now
      conn.count = 0
      conn.warned = false
    }
    conn.count++
    if (conn.count <= config.messagesPerSecond) return true
    if (conn.count > config.messagesPerSecond * BURST_FACTOR || conn.strikes + 1 >= config.rateLimitStrikes) {
      shut(conn, CLOSE.policy, 'Rate limit exceeded repeatedly')
      return false
    }
    if (!conn.warned) {
      conn.warned = true
      const retry = Math.max(0, Math.ceil(1000 - (now - conn.windowStart)))
      fail(conn, 'RATE_LIMITED', `At most ${config.messagesPerSecond} messages per second`, { retry_after_ms: retry })
    }
    return false
  }

  const subscribe = async (conn: Conn, channel: string) => {
    if (conn.channels.has(channel)) return conn.ws?.send(frames.subscribed(channel))
    if (conn.channels.size + conn.pending.size >= config.maxSubscriptions) {
      return fail(conn, 'TOO_MANY_SUBSCRIPTIONS', `At most ${config.maxSubscriptions} channels per connection`, {
        channel,
      })
    }
    const attempt = Symbol(channel)
    conn.pending.set(channel, attempt)
    const decision = await d.channels.authorize(channel, conn.principal)
    // Closed, unsubscribed or subscribed again while the authoriser ran: this attempt is void.
    if (conn.closed || conn.pending.get(channel) !== attempt) return
    conn.pending.delete(channel)
    if (decision === 'invalid')
      return fail(conn, 'INVALID_CHANNEL', 'Invalid channel format or unknown kind', { channel })
    if (decision === 'forbidden')
      return fail(conn, 'FORBIDDEN', 'Not allowed to subscribe to this channel', { channel })
    hub.join(conn, channel)
    conn.ws?.send(frames.subscribed(channel))
  }

  const send = (conn: Conn, ws: RealtimeSocket<Conn>, channel: string, data: unknown) => {
    if (!conn.channels.has(channel)) {
      return fail(conn, 'FORBIDDEN', 'Subscribe to a channel before sending to it', { channel })
    }
    // The sender's own connection is not echoed (ws.publish skips it); its other tabs get it.
    hub
      .deliver(channel, frames.channelMessage(channel, data, conn.userId), { except: ws })
      .catch((err) => d.logger.error('websocket: delivery failed', { channel, error: err }))
  }

  /** Re-asks the authoriser for every local subscriber of `channel`; `drop` skips asking. */
  hub.onRecheck = async (channel, drop) => {
    const subscribers = hub.subscribersOf(channel)
    if (!subscribers) return
    for (const conn of [...subscribers]) {
      const ok = !drop && (await d.channels.authorize(channel, conn.principal)) === 'ok'
      if (ok || conn.closed || !conn.channels.has(channel)) continue
      hub.leave(conn, channel)
      if (drop) {
        conn.ws?.send(frames.channelClosed(channel, 'deleted'))
        continue
      }
      fail(conn, 'FORBIDDEN', 'No longer allowed on this channel', { channel })
      conn.ws?.send(frames.unsubscribed(channel))
    }
  }

  const userChanged = async (id: string) => {
    const local = hub.connsOf(id)
    if (!local) return
    const user = await d.users.get(id)
    for (const conn of [...local]) {
      if (!user?.is_active) {
        fail(conn, 'FORBIDDEN', 'The account is deactivated')
        shut(conn, CLOSE.policy, 'Account deactivated')
        continue
      }
      conn.principal = { ...conn.principal, user }
      for (const channel of [...conn.channels]) {
        if ((await d.channels.authorize(channel, conn.principal)) === 'ok' || !conn.channels.has(channel)) continue
        hub.leave(conn, channel)
        fail(conn, 'FORBIDDEN', 'No longer allowed on this channel', { channel })
        conn.ws?.send(frames.unsubscribed(channel))
      }
    }
  }

  const credentialRevoked = (id: string) => {
    for (const conn of [...hub.conns]) {
      if (conn.principal.credentialId !== id) continue
      fail(conn, 'FORBIDDEN', 'The credential of this connection was revoked')
      shut(conn, CLOSE.policy, 'Credential revoked')
    }
  }

  const endpoint: SocketEndpoint<Conn> = {
    path: '/ws',
    detail: {
      summary: 'Realtime WebSocket',
      description:
        'Upgrade with `?token=<JWT or API key>`. Client messages: subscribe, unsubscribe, message, ping. ' +
        'Server events: connected, subscribed, unsubscribed, channel_message, notification, pong, error, channel_closed; ' +
        "a plugin's resource events on its channel (project.updated, project.deleted). See docs/plugins/websocket.md.",
    },
    limits: {
      // The protocol limit answers MESSAGE_TOO_LARGE and keeps the socket; far larger frames are cut by the runtime (1009).
      maxPayloadBytes: Math.max(config.maxMessageBytes * 16, 1_048_576),
      idleTimeoutSeconds: config.idleTimeoutSeconds,
      backpressureBytes: config.backpressureBytes,
    },
    accept({ principal, request }) {
      return {
        id: crypto.randomUUID(),
        principal,
        userId: principal.user.id,
        connectedAt: new Date().toISOString(),
        channels: new Set(),
        pending: new Map(),
        windowStart: performance.now(),
        count: 0,
        warned: false,
        strikes: 0,
        closed: false,
        expiresAt: expiryOf(request, principal.kind, config.closeOnTokenExpiry),
      }
    },
    open(ws) {
      const conn = ws.data
      conn.ws = ws
      conn.windowStart = performance.now()
      hub.add(conn)
      ws.subscribe(userTopic(conn.userId))
      ws.send(frames.connected(conn.userId, conn.id, conn.connectedAt))
      const at = conn.expiresAt
      if (at !== undefined) {
        conn.expiry = setTimeout(
          () => {
            fail(conn, 'TOKEN_EXPIRED', 'The token expired: reconnect with a fresh one')
            shut(conn, CLOSE.tokenExpired, 'Token expired')
          },
          Math.min(Math.max(at - Date.now(), 0), MAX_TIMER_MS),
        )
      }
    },
    message(ws, raw) {
      const conn = ws.data
      if (!admit(conn)) return
      if (typeof raw !== 'string') return fail(conn, 'BAD_MESSAGE', 'Binary frames are not supported: send JSON text')
      if (tooLarge(raw, config.maxMessageBytes)) {
        return fail(conn, 'MESSAGE_TOO_LARGE', `Messages are limited to ${config.maxMessageBytes} bytes`, {
          limit: config.maxMessageBytes,
        })
      }
      const parsed = parseClientMessage(raw)
      if (!parsed.ok) return fail(conn, parsed.code, parsed.message)
      const m = parsed.message
      if (m.type === 'ping') return void ws.send(frames.pong())
      messages.inc({ direction: 'in' })
      d.meter(conn.userId, 'websocket_messages', 1, { direction: 'in', type: m.type })
      if (m.type === 'message') return send(conn, ws, m.channel, m.data)
      if (m.type === 'subscribe') {
        return void subscribe(conn, m.channel).catch((err) =>
          d.logger.error('websocket: subscribe failed', { channel: m.channel, error: err }),
        )
      }
      conn.pending.delete(m.channel)
      if (conn.channels.has(m.channel)) hub.leave(conn, m.channel)
      ws.send(frames.unsubscribed(m.channel))
    },
    close(ws) {
      const conn = ws.data
      conn.closed = true
      clearTimeout(conn.expiry)
      hub.remove(conn)
    },
  }
  return { endpoint, userChanged, credentialRevoked }
}

/** When the bearer of a JWT (or impersonation) session expires; API keys do not. */
function expiryOf(request: Request, kind: string, enabled: boolean): number | undefined {
  if (!enabled || kind === 'api_key') return undefined
  const token = request.headers.get('authorization')?.replace(/^Bearer\s+/i, '') ?? ''
  const part = token.split('.')[1]
  if (!part) return undefined
  try {
    // The pipeline has verified this token: reading its exp needs no second check.
    const exp = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')).exp
    return typeof exp === 'number' ? exp * 1000 : undefined
  } catch {
    return undefined
  }
}

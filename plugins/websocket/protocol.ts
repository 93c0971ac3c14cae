/** The wire protocol of docs/plugins/websocket.md: client messages in, server events out. */
import { Buffer } from 'node:buffer'

/** `error` event codes (INVALID_CHANNEL of docs/plugins/websocket.md#error-codes plus the limits of the realtime issue). */
export type WsErrorCode =
  | 'INVALID_CHANNEL'
  | 'FORBIDDEN'
  | 'BAD_MESSAGE'
  | 'RATE_LIMITED'
  | 'MESSAGE_TOO_LARGE'
  | 'TOO_MANY_SUBSCRIPTIONS'
  | 'TOKEN_EXPIRED'

/** Close codes this plugin uses (browsers see them in CloseEvent.code). */
export const CLOSE = {
  /** Graceful shutdown (set by the runtime adapter): reconnect to another replica. */
  goingAway: 1001,
  /** Rate-limit abuse, deactivated user. Reconnect only after fixing the cause. */
  policy: 1008,
  /** The bearer expired: reconnect with a fresh token. */
  tokenExpired: 4001,
} as const

export type ClientMessage =
  | { type: 'subscribe'; channel: string }
  | { type: 'unsubscribe'; channel: string }
  | { type: 'message'; channel: string; data: unknown }
  | { type: 'ping' }

/** An event other plugins send (sendToUser / broadcastToChannel): any JSON object, `type` advised. */
export interface RealtimeEvent {
  type?: string
  data?: unknown
  [field: string]: unknown
}

export type Parsed = { ok: true; message: ClientMessage } | { ok: false; code: WsErrorCode; message: string }

const bad = (message: string): Parsed => ({ ok: false, code: 'BAD_MESSAGE', message })

/** Validates one text frame. Channel syntax and authorisation are checked later (registry). */
export function parseClientMessage(text: string): Parsed {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return bad('Malformed JSON')
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return bad('A message is a JSON object')
  const m = value as Record<string, unknown>
  switch (m.type) {
    case 'subscribe':
    case 'unsubscribe':
      if (typeof m.channel !== 'string') return bad(`"${m.type}" needs a "channel" string`)
      return { ok: true, message: { type: m.type, channel: m.channel } }
    case 'message':
      if (typeof m.channel !== 'string') return bad('"message" needs a "channel" string')
      if (!('data' in m)) return bad('"message" needs a "data" field')
      return { ok: true, message: { type: 'message', channel: m.channel, data: m.data } }
    case 'ping':
      return { ok: true, message: { type: 'ping' } }
    default:
      return bad(
        typeof m.type === 'string' ? `Unknown message type "${m.type.slice(0, 40)}"` : 'A message needs a "type"',
      )
  }
}

export const frames = {
  connected: (userId: string, connectionId: string, connectedAt: string) =>
    JSON.stringify({
      type: 'connected',
      data: { user_id: userId, connected_at: connectedAt, connection_id: connectionId },
    }),
  channelMessage: (channel: string, data: unknown, senderId: string) =>
    JSON.stringify({
      type: 'channel_message',
      channel,
      data,
      sender_id: senderId,
      timestamp: new Date().toISOString(),
    }),
  error: (code: WsErrorCode, message: string, extra?: Record<string, unknown>) =>
    JSON.stringify({ type: 'error', message, code, ...extra }),
  subscribed: (channel: string) => JSON.stringify({ type: 'subscribed', channel }),
  unsubscribed: (channel: string) => JSON.stringify({ type: 'unsubscribed', channel }),
  /** The server ended a subscription: the channel's resource is gone (`reason: deleted`). */
  channelClosed: (channel: string, reason: 'deleted') => JSON.stringify({ type: 'channel_closed', channel, reason }),
  pong: () => JSON.stringify({ type: 'pong', timestamp: new Date().toISOString() }),
  /** broadcastToChannel: the event as given, with its channel and a timestamp when absent. */
  channelEvent: (channel: string, event: RealtimeEvent) =>
    JSON.stringify({
      type: 'channel_message',
      ...event,
      channel,
      timestamp: event.timestamp ?? new Date().toISOString(),
    }),
}

/** Private per-user topic of the native pub/sub: `~` cannot start a channel kind, so no clash. */
export const userTopic = (userId: string) => `~user:${userId}`

/** True when `text` is over `limit` bytes of UTF-8, without encoding it when the answer is obvious. */
export function tooLarge(text: string, limit: number): boolean {
  if (text.length * 3 <= limit) return false
  if (text.length > limit) return true
  return Buffer.byteLength(text, 'utf8') > limit
}

/** The server-side API other plugins call (docs/plugins/websocket.md#server-api-for-other-plugins): works from any replica. */
import type { MeterFn } from '../../core/index.ts'
import type { Hub } from './hub.ts'
import { frames, userTopic, type RealtimeEvent } from './protocol.ts'

export interface DeliveryOptions {
  /**
   * Deduplication key: calls with the same key deliver once per replica, which lets every
   * replica react to the same broadcast event without multiplying the message.
   */
  key?: string
}

export interface WebsocketService {
  /** To every open socket of `userId`, on every replica. `type` defaults to `notification`. */
  sendToUser(userId: string, event: RealtimeEvent, options?: DeliveryOptions): Promise<void>
  /** To every subscriber of `channel` (`<kind>:<id>`), on every replica, as a `channel_message` unless `type` is set. */
  broadcastToChannel(channel: string, event: RealtimeEvent, options?: DeliveryOptions): Promise<void>
  /** This replica's connections, connected users and channels with local subscribers. */
  stats(): { connections: number; users: number; channels: number }
}

// Same syntax as the core channel registry (core/plugin/channels.ts).
const CHANNEL = /^[a-z][a-z0-9_-]{0,31}:[A-Za-z0-9_.:@-]{1,128}$/

export function createWebsocketService(hub: Hub, meter: MeterFn): WebsocketService {
  return {
    async sendToUser(userId, event, options = {}) {
      if (!userId) throw new Error('sendToUser: userId is required')
      const frame = JSON.stringify(event.type === undefined ? { type: 'notification', ...event } : event)
      meter(userId, 'websocket_messages', 1, { direction: 'out', type: String(event.type ?? 'notification') })
      return hub.deliver(userTopic(userId), frame, { key: options.key })
    },
    async broadcastToChannel(channel, event, options = {}) {
      if (!CHANNEL.test(channel)) throw new Error(`broadcastToChannel: "${channel}" is not a <kind>:<id> channel`)
      return hub.deliver(channel, frames.channelEvent(channel, event), { key: options.key })
    },
    stats() {
      const users = new Set<string>()
      const channels = new Set<string>()
      for (const c of hub.conns) {
        users.add(c.userId)
        for (const ch of c.channels) channels.add(ch)
      }
      return { connections: hub.conns.size, users: users.size, channels: channels.size }
    },
  }
}

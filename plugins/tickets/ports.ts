/**
 * What tickets uses of plugins it does not require (email to requesters, WebSocket notifications),
 * declared here so tickets (and an app created without them) type-checks on its own
 * (docs/writing-a-plugin.md#optional-dependencies); starters/ports.test.ts checks that the
 * real plugins still fit.
 */

/** The email plugin: one message, deduplicated by key (a job may run twice). */
export interface EmailPort {
  send(message: {
    to: string
    subject: string
    text: string
    tag?: string
    dedupeKey?: string
    userId?: string
  }): Promise<unknown>
}

/** A realtime event: `type` names it; the rest is its payload. */
export type RealtimeEventPort = { type?: string } & Record<string, unknown>

/** The websocket plugin: to a user's sockets and to a channel's subscribers, on every replica. */
export interface WebsocketPort {
  sendToUser(userId: string, event: RealtimeEventPort): Promise<void>
  broadcastToChannel(channel: string, event: RealtimeEventPort): Promise<void>
}

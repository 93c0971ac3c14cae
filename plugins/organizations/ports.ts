/**
 * What organizations uses of plugins it does not require, declared here so organizations (and
 * an app created without them) type-checks on its own
 * (docs/writing-a-plugin.md#optional-dependencies); starters/ports.test.ts checks that the real
 * plugins still fit.
 */

/** The websocket plugin: an organization's changes go to its `org:<id>` channel, every replica. */
export interface WebsocketPort {
  broadcastToChannel(channel: string, event: { type?: string; data?: unknown }): Promise<void>
}

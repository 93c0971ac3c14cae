/** Event names and payloads (docs/jobs-and-events.md#events): a declaration-merged map, so publish and subscribe are typed. */

/**
 * Event name → payload. Plugins add their events by declaration merging:
 *
 * @example
 * declare module '../../core/events/types.ts' {
 *   interface EventMap { 'project.created': { id: string; ownerId: string } }
 * }
 *
 * Names not declared stay allowed with an `unknown` payload. Events that cross replicas
 * (`broadcast: true`) must carry JSON-safe payloads: every replica, the publisher's own
 * included, receives the JSON round-tripped value.
 */
export interface EventMap {
  [name: string]: unknown
}

export type EventName = keyof EventMap & string

export interface EventMeta {
  name: string
  /** instanceId of the replica that published it. */
  origin: string
  /** Unique per published event (the same on every replica that receives it). */
  id: string
}

export type EventHandler<K extends EventName = EventName> = (
  payload: EventMap[K],
  meta: EventMeta,
) => void | Promise<void>

export interface PublishOptions {
  /** Deliver on every replica (through Redis when REDIS_URL is set), once each. @default false */
  broadcast?: boolean
}

export interface EventBus {
  /** Resolves once the event is handed off; it does not wait for handlers. */
  publish<K extends EventName>(name: K, payload: EventMap[K], options?: PublishOptions): Promise<void>
  /** Returns the unsubscribe function. Handlers run asynchronously; a failing one is logged. */
  subscribe<K extends EventName>(name: K, handler: EventHandler<K>): () => void
  close(): Promise<void>
}

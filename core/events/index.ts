/** Events (docs/jobs-and-events.md#events): the typed bus, in-process or across replicas through Redis pub/sub. */
export { createEventBus, type EventBusOptions } from './bus.ts'
export type { EventBus, EventHandler, EventMap, EventMeta, EventName, PublishOptions } from './types.ts'

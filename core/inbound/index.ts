/** Inbound events (webhooks) of every provider: one pipeline, one table, one retry job (core.retry-inbound-event). */
export { createInboundPipeline } from './pipeline.ts'
export {
  INBOUND_STATUSES,
  RETRY_JOB,
  type Applier,
  type InboundEvent,
  type InboundPipeline,
  type InboundQuery,
  type InboundStatus,
  type Malformed,
  type Outcome,
  type Preparer,
  type ReceiveResult,
  type StoredEvent,
  type Tx,
} from './types.ts'
export { maskSecrets } from './mask.ts'
/** Payload shape readers, as one namespace (`shape.object(v, 'data')`): the names are too generic for the door. */
export * as shape from './shape.ts'

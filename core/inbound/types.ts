/**
 * The inbound-event pipeline's contract (docs/webhooks.md): what a verifier hands over, what is
 * stored, what an applier returns, and the pipeline's interface; pipeline.ts implements it.
 */
import type postgres from 'postgres'
import type { Paged } from '../db/index.ts'

export type Tx = postgres.TransactionSql<{}>
/** `rejected`: verified, but its content failed the provider's shape check; stored, answered 400, never applied nor retried. */
export type InboundStatus = 'applied' | 'ignored' | 'unmatched' | 'failed' | 'rejected'
export const INBOUND_STATUSES = [
  'applied',
  'ignored',
  'unmatched',
  'failed',
  'rejected',
] as const satisfies readonly InboundStatus[]

/** The first field of a verified payload that has not the shape its applier reads (`data.object`, `message.data`). */
export interface Malformed {
  field: string
  message: string
}

/** A verified event, ready to store. */
export interface InboundEvent {
  provider: string
  /** The provider's own id: a redelivery carries the same one. */
  eventId: string
  type: string
  /** The provider's event time: appliers compare it to the last one applied. */
  occurredAt?: Date | null
  /** What the event is about (subscription, purchase token): unmatched events wait per subject. */
  subject?: string | null
  environment?: string | null
  /** Decoded, verified content (JSON). */
  payload: unknown
  /**
   * Set by a verifier whose shape check failed: `receive` stores the event as rejected (by the
   * provider's event id, else a digest of the body) and answers 400 with details.provider and
   * details.field; it is never applied.
   */
  malformed?: Malformed
}

export interface StoredEvent {
  id: string
  provider: string
  event_id: string
  type: string
  status: InboundStatus
  subject: string | null
  user_id: string | null
  environment: string | null
  occurred_at: Date | null
  payload: any
  note: string | null
  error: string | null
  attempts: number
  received_at: Date
  processed_at: Date | null
}

/** What applying did. `after` runs once the transaction has committed (events to publish). */
export interface Outcome {
  status: 'applied' | 'ignored' | 'unmatched'
  userId?: string | null
  subject?: string | null
  note?: string
  after?: () => unknown
}

/** Applies one stored event inside `tx`; throwing rolls the whole delivery back (stored as failed). */
export type Applier = (event: StoredEvent, tx: Tx) => Promise<Outcome>

/**
 * Runs before the transaction, on every delivery that will be applied and on every retry: for
 * providers whose notification only points at the state (Google Play: fetch the purchase from
 * the Play Developer API). Returns the payload to store and apply. Throwing stores the event as
 * failed and schedules a retry, as a failing applier does; no network call holds a transaction open.
 */
export type Preparer = (payload: any, event: { provider: string; eventId: string; type: string }) => Promise<unknown>

export interface ReceiveResult {
  id: string
  status: InboundStatus
  /** True when the event had been received before: acknowledged, not applied again. */
  duplicate: boolean
  /** The applier's note (why it was ignored or left unmatched); null for a duplicate. */
  note: string | null
}

export interface InboundQuery {
  provider?: string
  type?: string
  status?: InboundStatus
  skip: number
  limit: number
  /** Cursor from a previous page's next_after (core/db/paged.ts). */
  after?: string
}

export interface InboundPipeline {
  register(provider: string, applier: Applier, options?: { prepare?: Preparer }): void
  /** Providers with an applier (the core contributes the dashboard's `webhooks` section when there is one). */
  providers(): string[]
  /** Store and apply; a duplicate returns { duplicate: true }; a failure is stored and throws a 5xx AppError. */
  receive(event: InboundEvent): Promise<ReceiveResult>
  /** A verified event whose content cannot be used: stored as rejected (listed, counted), not applied, not retried; a redelivery adds no row. */
  reject(event: InboundEvent, reason: unknown): Promise<void>
  /** Re-apply a failed (or unmatched) event: the retry job and the admin replay. */
  retry(id: string): Promise<StoredEvent>
  /** Apply, in event-time order, the unmatched events of `subject` (a purchase was just linked). */
  applyPending(provider: string, subject: string, tx: Tx): Promise<{ applied: number; after: (() => unknown)[] }>
  list(query: InboundQuery): Promise<Paged<Omit<StoredEvent, 'payload'>>>
  get(id: string): Promise<StoredEvent>
  stats(): Promise<{ total: number; failed: number; pending: number }>
}

export const RETRY_JOB = 'core.retry-inbound-event'

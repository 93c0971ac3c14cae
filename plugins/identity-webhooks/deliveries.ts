/** Clerk and Supabase on the core's inbound pipeline: stored once by id in inbound_events, applied in the same transaction, never older over newer. */
import type {
  AuditLog,
  InboundApplier,
  InboundEvent,
  InboundPipeline,
  Logger,
  StoredInboundEvent,
} from '../../core/index.ts'
import type { IdentityChange, UsersPluginService } from '../users/index.ts'

export type Provider = 'clerk' | 'supabase'
export type Outcome = 'applied' | 'stale' | 'ignored' | 'duplicate'

export interface Delivery {
  provider: Provider
  /** svix-id (Clerk) or a SHA-256 of the payload (Supabase). */
  id: string
  type: string
  /** The change to apply; undefined for an event this plugin does not handle (acknowledged, stored as ignored). */
  change?: IdentityChange
  /** Creations and updates provision the user first, as a first sign-in would (ADMIN_EMAILS apply). */
  provision?: { sub: string; email?: string | null; name?: string | null; avatar_url?: string | null }
}

/** Where the delivery came from, for the audit entry of a deletion (absent on a retry or replay). */
export interface Origin {
  ip: string
  requestId: string
}

/** Rebuilds the delivery from the stored event (the retry job and the admin replay use it too); throws badRequest when unusable. */
export type DeliveryOf = (row: StoredFields) => Delivery
export type StoredFields = Pick<StoredInboundEvent, 'event_id' | 'type' | 'payload' | 'occurred_at' | 'received_at'>

/** An event about to be received, seen as it will be stored (the route checks it is usable first). */
export const asStored = (e: InboundEvent): StoredFields => ({
  event_id: e.eventId,
  type: e.type,
  payload: e.payload,
  occurred_at: e.occurredAt ?? null,
  received_at: new Date(),
})

/** The note of an event older than the user's last applied change: stored as ignored, answered `stale`. */
export const STALE_NOTE = 'older than the last applied change'

export interface Deliveries {
  /** Stores and applies a verified, usable delivery (a duplicate is acknowledged, not applied again); a malformed one is stored rejected and throws 400. */
  receive(event: InboundEvent, d: Delivery, origin: Origin): Promise<{ received: true; outcome: Outcome }>
  /** A verified delivery whose payload could not be used: stored as rejected (once), never applied. */
  reject(event: InboundEvent, error: unknown): Promise<void>
}

export function createDeliveries(
  inbound: InboundPipeline,
  users: UsersPluginService,
  audit: AuditLog,
  logger: Logger,
  parsers: Record<Provider, DeliveryOf>,
): Deliveries {
  /** Origins of the deliveries being received right now, by provider and id. */
  const origins = new Map<string, Origin>()
  const key = (provider: string, id: string) => `${provider}\n${id}`

  const applier =
    (deliveryOf: DeliveryOf): InboundApplier =>
    async (row, tx) => {
      const d = deliveryOf(row)
      if (!d.change) return { status: 'ignored', note: 'not a user change' }
      const userId = d.change.id
      const result = await users.applyIdentityChange(d.change, tx)
      if (result === 'missing') return { status: 'ignored', userId, note: 'no such user' }
      if (result === 'stale') return { status: 'ignored', userId, note: STALE_NOTE }
      if (d.change.deleted) {
        // A deactivation by the provider is audited like one by an admin (no actor: the provider).
        const origin = origins.get(key(row.provider, row.event_id))
        await audit.record(
          {
            actor_id: null,
            action: 'user.delete',
            resource_type: 'user',
            resource_id: userId,
            details: { provider: row.provider, event_id: row.event_id, anonymised: true },
            ip_address: origin?.ip ?? null,
            request_id: origin?.requestId ?? null,
          },
          tx,
        )
      }
      return { status: 'applied', userId, after: () => users.changed(userId) }
    }

  for (const [provider, deliveryOf] of Object.entries(parsers)) inbound.register(provider, applier(deliveryOf))

  return {
    async receive(event, d, origin) {
      // Provisioning uses the core's user directory, outside the transaction (PGlite has one connection);
      // it never changes an existing user, so a redelivery provisions nothing.
      if (d.change && d.provision && !d.change.deleted && !event.malformed) await users.provision(d.provision)
      const k = key(event.provider, event.eventId)
      origins.set(k, origin)
      let r
      try {
        r = await inbound.receive(event)
      } finally {
        origins.delete(k)
      }
      const outcome: Outcome = r.duplicate
        ? 'duplicate'
        : r.status === 'applied'
          ? 'applied'
          : r.note === STALE_NOTE
            ? 'stale'
            : 'ignored'
      if (outcome === 'stale')
        logger.info('identity webhook older than the last applied change', {
          provider: event.provider,
          event_id: event.eventId,
          user_id: d.change?.id,
        })
      return { received: true, outcome }
    },

    reject: (event, error) => inbound.reject(event, error),
  }
}

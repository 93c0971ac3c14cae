/** Verified identity-provider deliveries: stored once by id, applied in the same transaction, never older over newer. */
import type { AuditLog, Logger, Sql } from '../../core/index.ts'
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

/** Where the delivery came from, for the audit entry of a deletion. */
export interface Origin {
  ip: string
  requestId: string
}

export interface Deliveries {
  receive(d: Delivery, origin: Origin): Promise<{ received: true; outcome: Outcome }>
  /** A verified delivery whose payload could not be used: counted as failed, retried if redelivered. */
  failed(d: Pick<Delivery, 'provider' | 'id' | 'type'>, error: string): Promise<void>
}

export function createDeliveries(sql: Sql, users: UsersPluginService, audit: AuditLog, logger: Logger): Deliveries {
  const seen = async (d: Delivery) => {
    const [row] = await sql<{ status: string }[]>`
      select status from identity_webhook_events where provider = ${d.provider} and event_id = ${d.id}`
    return row !== undefined && row.status !== 'failed'
  }

  return {
    async receive(d, origin) {
      if (await seen(d)) return { received: true, outcome: 'duplicate' }
      // Provisioning uses the core's user directory (outside the transaction: PGlite has one connection).
      if (d.change && d.provision && !d.change.deleted) await users.provision(d.provision)
      const outcome = await sql.begin(async (tx) => {
        // Claims the id: a concurrent redelivery waits here, then finds it taken.
        const [claimed] = (await tx`
          insert into identity_webhook_events (provider, event_id, type, user_id, status)
          values (${d.provider}, ${d.id}, ${d.type}, ${d.change?.id ?? null}, 'ignored')
          on conflict (provider, event_id) do update set status = 'ignored', error = null, received_at = now()
            where identity_webhook_events.status = 'failed'
          returning event_id`) as unknown as [{ event_id: string } | undefined]
        if (!claimed) return 'duplicate' as const
        if (!d.change) return 'ignored' as const
        const result = await users.applyIdentityChange(d.change, tx)
        const status = result === 'missing' ? 'ignored' : result
        if (status === 'applied' && d.change.deleted) {
          // A deactivation by the provider is audited like one by an admin (no actor: the provider).
          await audit.record(
            {
              actor_id: null,
              action: 'user.delete',
              resource_type: 'user',
              resource_id: d.change.id,
              details: { provider: d.provider, event_id: d.id, anonymised: true },
              ip_address: origin.ip,
              request_id: origin.requestId,
            },
            tx,
          )
        }
        await tx`update identity_webhook_events set status = ${status} where provider = ${d.provider} and event_id = ${d.id}`
        return status
      })
      if (outcome === 'applied') await users.changed(d.change!.id)
      if (outcome === 'stale') logger.info('identity webhook older than the last applied change', { provider: d.provider, event_id: d.id, user_id: d.change?.id })
      return { received: true, outcome }
    },

    async failed(d, error) {
      await sql`
        insert into identity_webhook_events (provider, event_id, type, status, error)
        values (${d.provider}, ${d.id}, ${d.type}, 'failed', ${error.slice(0, 500)})
        on conflict (provider, event_id) do update set status = 'failed', error = excluded.error, received_at = now()
          where identity_webhook_events.status = 'failed'`
    },
  }
}

/** Dashboard section `webhooks` (merged with what billing contributes): deliveries are applied at once, so none is pending. */
export const webhookStats = (sql: Sql) => async () => {
  const [row] = await sql<{ total: number; failed: number }[]>`
    select count(*)::int as total, count(*) filter (where status = 'failed')::int as failed from identity_webhook_events`
  return { total: row!.total, failed: row!.failed, pending: 0 }
}

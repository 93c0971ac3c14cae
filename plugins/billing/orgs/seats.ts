/**
 * Seats follow members (docs/plugins/billing.md#organizations-and-seats): every membership change
 * commits a job (a durable subscriber, subscribers.ts) that sets the subscription item's quantity
 * to the member count read when the job runs. One job per organization runs at a time (a lease on its subscription row, on every
 * replica), so concurrent joins converge on the last count, and a job finding Stripe already at
 * the count (a replay, or a change an earlier job already covered) calls nothing.
 */
import type { Logger } from '../../../core/index.ts'
import type { BillingConfig } from '../config.ts'
import type { StripeApi } from '../providers/stripe-api.ts'
import { ENDED_STATUSES, type OrgStore } from './store.ts'

export const SEAT_SYNC_JOB = 'billing.seat-sync'

export interface SeatJob {
  org_id: string
  /** Names the change that asked (a random id fixed at enqueue): part of Stripe's idempotency key. */
  change_id: string
}

/** Longer than one Stripe call with its retries; a crashed worker's lease lapses after it. */
const LEASE_MS = 60_000
const WAIT_STEP_MS = 50
/** About 10 s of waiting for another worker's update of the same organization, then the job retries. */
const WAIT_STEPS = 200

export interface SeatSyncDeps {
  config: Pick<BillingConfig, 'seatProration'>
  store: OrgStore
  stripe: Pick<StripeApi, 'setSeatQuantity' | 'configured'>
  memberCount: (orgId: string) => Promise<number>
  logger: Logger
}

export function createSeatSync(d: SeatSyncDeps) {
  const leased = async (orgId: string) => {
    for (let i = 0; i < WAIT_STEPS; i++) {
      const row = await d.store.lease(orgId, LEASE_MS)
      if (row) return row
      if (!(await d.store.exists(orgId))) return undefined
      await new Promise((r) => setTimeout(r, WAIT_STEP_MS))
    }
    throw new Error('another seat update of this organization is still running')
  }

  return async (job: SeatJob) => {
    if (!d.stripe.configured) return
    const row = await leased(job.org_id)
    // No subscription (yet): the checkout starts at the member count, and its webhook re-checks.
    if (!row) return
    let set: number | undefined
    try {
      if (!row.item_id || ENDED_STATUSES.has(row.status)) return
      const count = await d.memberCount(job.org_id)
      if (count < 1 || count === row.quantity) return
      const key = `omnistack-seats-${row.external_id}-${count}-${job.change_id}`
      await d.stripe.setSeatQuantity(row.item_id, count, d.config.seatProration, key)
      set = count
      d.logger.info('organization seats updated', { org_id: job.org_id, quantity: count, previous: row.quantity })
    } finally {
      await d.store.release(job.org_id, set)
    }
  }
}

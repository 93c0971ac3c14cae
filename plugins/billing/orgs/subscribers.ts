/**
 * Billing's durable subscribers of organization events
 * (docs/plugins/billing.md#organizations-and-seats, docs/jobs-and-events.md#durable-events). The organizations plugin enqueues their jobs in the
 * transaction of each change, so a crash after its commit loses none and two replicas enqueue one:
 * - `billing.seat-sync` on `org.member_added` and `org.member_removed`: the seats follow the member
 *   count (seats.ts). The change that asked is the job itself: its id is the idempotency key's
 *   change id (a follow-up of a subscription change enqueued by billing carries its own).
 * - `billing.cancel-organization` on `org.deleted`: the subscription ends (cancel.ts).
 */
import type { PluginContext } from '../../../core/index.ts'
import type { BillingConfig } from '../config.ts'
import type { Billing } from '../service.ts'
import { createOrgCancel, ORG_CANCEL_JOB } from './cancel.ts'
import { SEAT_SYNC_JOB, type SeatJob } from './seats.ts'

export function subscribeOrgEvents(
  ctx: Pick<PluginContext<BillingConfig>, 'jobs' | 'sql' | 'logger' | 'config'>,
  billing: Pick<Billing, 'stripe' | 'orgStore' | 'seatSync'>,
) {
  const { seatSync } = billing
  if (!seatSync) return
  ctx.jobs.subscribeDurable(
    ['org.member_added', 'org.member_removed'],
    SEAT_SYNC_JOB,
    (p: { org_id: string; change_id?: string }, job) =>
      seatSync({ org_id: p.org_id, change_id: p.change_id ?? job.id } satisfies SeatJob),
  )
  const cancel = createOrgCancel({ ...ctx, stripe: billing.stripe, store: billing.orgStore })
  ctx.jobs.subscribeDurable('org.deleted', ORG_CANCEL_JOB, cancel)
}

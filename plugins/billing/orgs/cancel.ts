/**
 * A deleted organization's subscription ends with it
 * (docs/plugins/billing.md#organizations-and-seats): the job of billing's durable `org.deleted`
 * subscriber cancels it at Stripe now and stores Stripe's answer. Idempotent, as a job must be: a
 * subscription already over is left alone; the call carries the Idempotency-Key
 * `omnistack-org-cancel-<subscription id>` (one cancellation per subscription); and since Stripe
 * keeps such keys for POST requests only and refuses to cancel a canceled subscription, a rerun
 * whose earlier call went through reads the subscription back and stores it.
 */
import type Stripe from 'stripe'
import type { Logger, Sql } from '../../../core/index.ts'
import type { BillingConfig } from '../config.ts'
import type { StripeApi } from '../providers/stripe-api.ts'
import { ENDED_STATUSES, type OrgStore } from './store.ts'
import { orgStateOf } from './stripe-state.ts'

export const ORG_CANCEL_JOB = 'billing.cancel-organization'

export function createOrgCancel(d: {
  config: BillingConfig
  stripe: Pick<StripeApi, 'configured' | 'cancelNow' | 'retrieveSubscription'>
  store: OrgStore
  sql: Sql
  logger: Logger
}) {
  return async ({ org_id }: { org_id: string }) => {
    // Without Stripe no organization holds a Stripe subscription.
    if (!d.stripe.configured) return
    const row = await d.store.subscriptionOf(org_id)
    if (!row || ENDED_STATUSES.has(row.status)) return
    let sub: Stripe.Subscription
    try {
      sub = await d.stripe.cancelNow(row.external_id, `omnistack-org-cancel-${row.external_id}`)
    } catch (err) {
      const current = await d.stripe.retrieveSubscription(row.external_id).catch(() => undefined)
      if (current?.status !== 'canceled') throw err
      sub = current
    }
    await d.store.put(orgStateOf(sub, org_id, d.config), d.sql)
    d.logger.info('subscription of a deleted organization canceled', { org_id, subscription: row.external_id })
  }
}

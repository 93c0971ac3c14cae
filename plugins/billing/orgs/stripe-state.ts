/**
 * Stripe's answer to a call on an organization's subscription, as the state stored for it
 * (docs/plugins/billing.md#organizations-and-seats).
 */
import type Stripe from 'stripe'
import type { BillingConfig } from '../config.ts'
import { stripeSubscriptionState } from '../providers/stripe-api.ts'
import type { OrgSubscriptionState } from './store.ts'

/** Our clock floored to the second, as for users: a Stripe event of the same second still applies. */
const apiTime = () => new Date(Math.floor(Date.now() / 1000) * 1000)

export function orgStateOf(sub: Stripe.Subscription, orgId: string, config: BillingConfig): OrgSubscriptionState {
  const { userId: _, ...state } = stripeSubscriptionState(sub, orgId, apiTime(), config)
  const item = sub.items?.data?.[0]
  return { ...state, orgId, itemId: item?.id ?? null, quantity: item?.quantity ?? null }
}

/**
 * Stripe events of organization subscriptions (docs/plugins/billing.md#organizations-and-seats):
 * a checkout or subscription whose metadata names `org_id`, or whose customer is an organization's,
 * is stored on the organization. Runs inside the inbound pipeline's transaction, so it is as
 * idempotent as every other Stripe event (one application per event id, older states ignored).
 */
import type Stripe from 'stripe'
import type { InboundOutcome as Outcome, InboundTx as Tx, StoredInboundEvent } from '../../../core/index.ts'
import type { Accounts } from '../accounts.ts'
import { planFor, type BillingConfig } from '../config.ts'
import { stripeSubscriptionState } from '../providers/stripe-api.ts'
import type { OrgStore } from './store.ts'

export interface OrgApplierDeps {
  config: BillingConfig
  accounts: Accounts
  store: OrgStore
  /** After commit: the organization's subscription changed (re-check its seats). */
  changed: (orgId: string) => unknown
}

const idOf = (v: unknown): string | null =>
  typeof v === 'string' ? v : typeof (v as { id?: unknown })?.id === 'string' ? (v as { id: string }).id : null

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** The organization an event belongs to, or undefined (then it is a user's, handled as before). */
async function orgOf(object: Record<string, any>, customer: string | null, d: OrgApplierDeps, tx: Tx) {
  const named = object.metadata?.org_id
  if (typeof named === 'string' && UUID.test(named)) return named.toLowerCase()
  return customer ? d.store.orgOfCustomer(customer, tx) : undefined
}

/** Applies `ev` to an organization, or answers undefined when no organization is concerned. */
export async function applyOrgStripeEvent(
  ev: StoredInboundEvent,
  tx: Tx,
  d: OrgApplierDeps,
): Promise<Outcome | undefined> {
  const event = ev.payload as Stripe.Event
  const object = event.data.object as Record<string, any>
  const customer = idOf(object.customer)
  const applied = (orgId: string, subject: string): Outcome => ({
    status: 'applied',
    subject,
    note: `organization ${orgId}`,
    after: () => d.changed(orgId),
  })

  if (event.type === 'checkout.session.completed') {
    if (object.mode !== 'subscription') return undefined
    const orgId = await orgOf(object, customer, d, tx)
    if (!orgId) return undefined
    if (customer) {
      await d.accounts.lock('stripe', customer, tx)
      await d.store.setCustomer(orgId, customer, tx)
    }
    const subscription = idOf(object.subscription)
    if (subscription) {
      const price = object.metadata?.plan === 'yearly' ? d.config.stripePriceYearly : d.config.stripePriceMonthly
      await d.store.putProvisional(
        {
          orgId,
          externalId: subscription,
          productId: price ?? null,
          plan: planFor(d.config, price),
          status: object.payment_status === 'unpaid' ? 'incomplete' : 'active',
          env: ev.environment ?? null,
        },
        tx,
      )
    }
    return applied(orgId, subscription ?? object.id)
  }

  if (event.type.startsWith('customer.subscription.')) {
    const orgId = await orgOf(object, customer, d, tx)
    if (!orgId) return undefined
    if (customer) await d.accounts.lock('stripe', customer, tx)
    const sub = object as Stripe.Subscription
    const { userId: _, ...state } = stripeSubscriptionState(sub, orgId, new Date(event.created * 1000), d.config)
    const item = sub.items?.data?.[0]
    const row = await d.store.put({ ...state, orgId, itemId: item?.id ?? null, quantity: item?.quantity ?? null }, tx)
    if (!row) return { status: 'ignored', subject: sub.id, note: 'older than the stored state of this subscription' }
    return applied(orgId, sub.id)
  }
  return undefined
}

/** Stripe webhooks: signature over the raw body (300 s tolerance, constructEventAsync) and the events that change subscriptions. */
import Stripe from 'stripe'
import { badRequest, serviceUnavailable } from '../../../core/index.ts'
import type { Accounts } from '../accounts.ts'
import { planFor, type BillingConfig } from '../config.ts'
import type {
  InboundApplier as Applier,
  InboundEvent,
  InboundOutcome as Outcome,
  InboundPipeline,
  InboundTx as Tx,
  StoredInboundEvent as StoredEvent,
} from '../../../core/index.ts'
import { applyOrgStripeEvent, type OrgApplierDeps } from '../orgs/applier.ts'
import type { SubscriptionStore } from '../subscriptions.ts'
import {
  bodyDigest,
  integer,
  isObject,
  malformedOf,
  object,
  optArray,
  optBoolean,
  optInteger,
  optObject,
  optRef,
  optString,
  rawPayload,
  string,
  type Obj,
} from './shape.ts'
import { stripeSubscriptionState } from './stripe-api.ts'

export const STRIPE_TOLERANCE_SECONDS = 300
// docs/performance-notes.md#stripe-signatures-on-bun-and-deno: on Bun and Deno the synchronous verifier throws; SubtleCrypto works everywhere.
const cryptoProvider = Stripe.createSubtleCryptoProvider()

const SUBSCRIPTION_TYPES = new Set([
  'customer.subscription.created',
  'customer.subscription.updated',
  'customer.subscription.deleted',
  'customer.subscription.paused',
  'customer.subscription.resumed',
])
const INVOICE_TYPES = new Set(['invoice.paid', 'invoice.payment_succeeded', 'invoice.payment_failed'])

/** The fields the applier reads, per handled type; throws ShapeError at the first bad one. */
function checkStripeEvent(e: unknown) {
  const ev = object(e, 'body')
  string(ev.id, 'id')
  const type = string(ev.type, 'type')
  integer(ev.created, 'created')
  optBoolean(ev.livemode, 'livemode')
  const o = object(object(ev.data, 'data').object, 'data.object')
  const f = (k: string) => `data.object.${k}`
  optString(o.id, f('id'))
  const metadata = () => {
    const m = optObject(o.metadata, f('metadata'))
    if (m) for (const k of ['user_id', 'org_id', 'plan']) optString(m[k], f(`metadata.${k}`))
  }
  if (type === 'checkout.session.completed') {
    string(o.id, f('id'))
    optString(o.mode, f('mode'))
    optRef(o.customer, f('customer'))
    optString(o.client_reference_id, f('client_reference_id'))
    metadata()
    optRef(o.subscription, f('subscription'))
    optString(o.payment_status, f('payment_status'))
  } else if (SUBSCRIPTION_TYPES.has(type)) {
    string(o.id, f('id'))
    string(o.status, f('status'))
    optRef(o.customer, f('customer'))
    metadata()
    optBoolean(o.livemode, f('livemode'))
    optBoolean(o.cancel_at_period_end, f('cancel_at_period_end'))
    optInteger(o.cancel_at, f('cancel_at'))
    optInteger(o.current_period_end, f('current_period_end'))
    optString(optObject(o.plan, f('plan'))?.id, f('plan.id'))
    const items = optArray(optObject(o.items, f('items'))?.data, f('items.data'))
    if (items?.length) {
      const item = object(items[0], f('items.data[0]'))
      optInteger(item.current_period_end, f('items.data[0].current_period_end'))
      const price = optObject(item.price, f('items.data[0].price'))
      if (price) {
        optString(price.id, f('items.data[0].price.id'))
        optRef(price.product, f('items.data[0].price.product'))
      }
    }
  } else if (INVOICE_TYPES.has(type)) {
    optRef(o.subscription, f('subscription'))
    const parent = optObject(o.parent, f('parent'))
    optRef(
      optObject(parent?.subscription_details, f('parent.subscription_details'))?.subscription,
      f('parent.subscription_details.subscription'),
    )
    const lines = optArray(optObject(o.lines, f('lines'))?.data, f('lines.data')) ?? []
    lines.forEach((l, i) => {
      const line = object(l, f(`lines.data[${i}]`))
      optInteger(optObject(line.period, f(`lines.data[${i}].period`))?.end, f(`lines.data[${i}].period.end`))
      optRef(line.subscription, f(`lines.data[${i}].subscription`))
      const details = optObject(
        optObject(line.parent, f(`lines.data[${i}].parent`))?.subscription_item_details,
        f(`lines.data[${i}].parent.subscription_item_details`),
      )
      optRef(details?.subscription, f(`lines.data[${i}].parent.subscription_item_details.subscription`))
    })
  }
}

/**
 * Verifies `Stripe-Signature` over the exact bytes received; a bad signature is 400 and nothing is
 * stored. A signed event without the shape its applier reads comes back `malformed` (stored as rejected).
 */
export async function verifyStripeWebhook(
  raw: string,
  header: string | null,
  secret: string | undefined,
): Promise<InboundEvent> {
  if (!secret) throw serviceUnavailable('Stripe webhooks are not configured', { missing: 'STRIPE_WEBHOOK_SECRET' })
  if (!header) throw badRequest('Missing Stripe-Signature header')
  let event: unknown
  try {
    event = await Stripe.webhooks.constructEventAsync(raw, header, secret, STRIPE_TOLERANCE_SECONDS, cryptoProvider)
  } catch (err) {
    if (err instanceof Stripe.errors.StripeSignatureVerificationError)
      throw badRequest('Invalid Stripe signature', { provider: 'stripe' })
    // The signature held (it is checked first): a signed body that is not JSON.
    return {
      provider: 'stripe',
      eventId: bodyDigest(raw),
      type: 'unknown',
      payload: rawPayload(raw),
      malformed: { field: 'body', message: 'must be JSON' },
    }
  }
  const malformed = malformedOf(() => checkStripeEvent(event))
  const e = (isObject(event) ? event : {}) as Obj
  if (malformed) {
    return {
      provider: 'stripe',
      eventId: typeof e.id === 'string' && e.id ? e.id : bodyDigest(raw),
      type: typeof e.type === 'string' && e.type ? e.type : 'unknown',
      payload: event,
      malformed,
    }
  }
  const target = (e.data as { object: { id?: unknown } }).object
  return {
    provider: 'stripe',
    eventId: e.id as string,
    type: e.type as string,
    occurredAt: new Date((e.created as number) * 1000),
    subject: typeof target.id === 'string' ? target.id : null,
    environment: e.livemode ? 'live' : 'test',
    payload: event,
  }
}

const idOf = (v: unknown): string | null =>
  typeof v === 'string' ? v : typeof (v as { id?: unknown })?.id === 'string' ? (v as { id: string }).id : null

/** The subscription an invoice belongs to, across API versions. */
function invoiceSubscription(invoice: Record<string, any>): string | null {
  return (
    idOf(invoice.subscription) ??
    idOf(invoice.parent?.subscription_details?.subscription) ??
    idOf(invoice.lines?.data?.[0]?.parent?.subscription_item_details?.subscription) ??
    idOf(invoice.lines?.data?.[0]?.subscription)
  )
}

export interface StripeApplierDeps {
  config: BillingConfig
  accounts: Accounts
  store: SubscriptionStore
  pipeline: InboundPipeline
  /** Publishes subscription.updated for the user (after commit). */
  notify: (userId: string, source: 'stripe') => unknown
  /** With the organizations plugin: events of organizations' subscriptions go to them. */
  orgs?: Pick<OrgApplierDeps, 'store' | 'changed'>
}

export function stripeApplier(d: StripeApplierDeps): Applier {
  const ignored = (note: string): Outcome => ({ status: 'ignored', note })

  /** metadata.user_id (set at checkout) when that user exists, else the user the customer was created for. */
  const userOf = async (metadataUser: unknown, customer: string | null, tx: Tx) => {
    if (typeof metadataUser === 'string' && metadataUser && (await d.accounts.userExists(metadataUser, tx)))
      return metadataUser
    return customer ? d.accounts.userOfCustomer(customer, tx) : undefined
  }

  const applied = (userId: string, subject: string, note?: string, more: (() => unknown)[] = []): Outcome => ({
    status: 'applied',
    userId,
    subject,
    note,
    after: () => {
      d.notify(userId, 'stripe')
      for (const fn of more) fn()
    },
  })

  return async (ev: StoredEvent, tx: Tx): Promise<Outcome> => {
    if (d.orgs) {
      const outcome = await applyOrgStripeEvent(ev, tx, { ...d.orgs, config: d.config, accounts: d.accounts })
      if (outcome) return outcome
    }
    const event = ev.payload as Stripe.Event
    const at = new Date(event.created * 1000)
    const object = event.data.object as Record<string, any>

    switch (event.type) {
      case 'checkout.session.completed': {
        if (object.mode !== 'subscription') return ignored('not a subscription checkout')
        const customer = idOf(object.customer)
        if (customer) await d.accounts.lock('stripe', customer, tx)
        const userId = await userOf(object.client_reference_id ?? object.metadata?.user_id, customer, tx)
        if (!userId) return { status: 'unmatched', subject: customer, note: 'no user for this checkout session' }
        if (customer) await d.accounts.setStripeCustomer(userId, customer, tx)
        const subscription = idOf(object.subscription)
        if (subscription) {
          // A provisional state, older than any subscription event (epoch): the subscription's own events override it.
          const price = object.metadata?.plan === 'yearly' ? d.config.stripePriceYearly : d.config.stripePriceMonthly
          await tx`
            insert into billing_subscriptions (user_id, source, external_id, product_id, plan, status, environment, last_event_at)
            values (${userId}, 'stripe', ${subscription}, ${price ?? null}, ${planFor(d.config, price)},
                    ${object.payment_status === 'unpaid' ? 'incomplete' : 'active'}, ${ev.environment}, to_timestamp(0))
            on conflict (user_id, source) do nothing`
        }
        // Events that arrived before the customer was known now have their user.
        const pending = customer ? await d.pipeline.applyPending('stripe', customer, tx) : { applied: 0, after: [] }
        return applied(userId, subscription ?? object.id, undefined, pending.after)
      }

      case 'customer.subscription.created':
      case 'customer.subscription.updated':
      case 'customer.subscription.deleted':
      case 'customer.subscription.paused':
      case 'customer.subscription.resumed': {
        const sub = object as Stripe.Subscription
        const customer = idOf(sub.customer)
        if (customer) await d.accounts.lock('stripe', customer, tx)
        const userId = await userOf(sub.metadata?.user_id, customer, tx)
        if (!userId) return { status: 'unmatched', subject: customer, note: 'no user for this customer yet' }
        const row = await d.store.put(stripeSubscriptionState(sub, userId, at, d.config), tx)
        if (!row)
          return {
            status: 'ignored',
            userId,
            subject: sub.id,
            note: 'older than the stored state of this subscription',
          }
        return applied(userId, sub.id)
      }

      case 'invoice.paid':
      case 'invoice.payment_succeeded':
      case 'invoice.payment_failed': {
        const subscription = invoiceSubscription(object)
        if (!subscription) return ignored('invoice without a subscription')
        const paid = event.type !== 'invoice.payment_failed'
        const periodEnd = paid
          ? (object.lines?.data ?? []).reduce((max: number, l: any) => Math.max(max, l?.period?.end ?? 0), 0)
          : 0
        const row = await d.store.patch(
          {
            source: 'stripe',
            externalId: subscription,
            at,
            status: paid ? 'active' : 'past_due',
            currentPeriodEnd: periodEnd ? new Date(periodEnd * 1000) : undefined,
            fromStatuses: paid
              ? ['active', 'trialing', 'past_due', 'unpaid', 'incomplete']
              : ['active', 'trialing', 'past_due', 'incomplete'],
          },
          tx,
        )
        if (!row) return { status: 'ignored', subject: subscription, note: 'no stored subscription, or a newer state' }
        return applied(row.user_id, subscription)
      }

      default:
        return ignored(`event type ${event.type} is not handled`)
    }
  }
}

/** Stripe API through the official SDK: customers (created once per user), checkout, portal, invoices, cancel and resume. */
import { createHash } from 'node:crypto'
import Stripe from 'stripe'
import { externalServiceError, serviceUnavailable, tracedFetch, type Logger } from '../../../core/index.ts'
import type { Accounts } from '../accounts.ts'
import { planFor, type BillingConfig } from '../config.ts'
import type { SubscriptionState } from '../subscriptions.ts'

/** A Stripe subscription (API object) as a subscription state at `at`. */
export function stripeSubscriptionState(
  sub: Stripe.Subscription,
  userId: string,
  at: Date,
  config: BillingConfig,
): SubscriptionState {
  const item = sub.items?.data?.[0] as (Stripe.SubscriptionItem & { current_period_end?: number }) | undefined
  const legacy = sub as unknown as { current_period_end?: number; plan?: { id?: string } }
  const priceId = item?.price?.id ?? legacy.plan?.id ?? null
  const productId =
    typeof item?.price?.product === 'string'
      ? item.price.product
      : (item?.price?.product as { id?: string } | undefined)?.id
  // API versions since 2025-03-31 keep the period on the item; older ones on the subscription.
  const periodEnd = item?.current_period_end ?? legacy.current_period_end
  return {
    userId,
    source: 'stripe',
    externalId: sub.id,
    at,
    productId: priceId,
    plan: (priceId && config.planMap[priceId]) || planFor(config, productId),
    status: sub.status,
    currentPeriodEnd: periodEnd ? new Date(periodEnd * 1000) : null,
    cancelAtPeriodEnd: !!sub.cancel_at_period_end || (!!sub.cancel_at && sub.status !== 'canceled'),
    environment: sub.livemode ? 'live' : 'test',
  }
}

export interface InvoiceView {
  id: string
  number: string | null
  status: string | null
  amount_due: number
  amount_paid: number
  currency: string
  created: number
  hosted_invoice_url: string | null
  invoice_pdf: string | null
}

export function createStripeApi(config: BillingConfig, accounts: Accounts, logger: Logger) {
  const base = config.stripeApiBase
  const client = config.stripeSecretKey
    ? new Stripe(config.stripeSecretKey, {
        // fetch works on Bun, Deno and Node alike; the traced one gives each API call a span (docs/observability.md#child-spans).
        httpClient: Stripe.createFetchHttpClient(tracedFetch as typeof fetch),
        maxNetworkRetries: config.stripeMaxNetworkRetries,
        timeout: config.stripeTimeoutMs,
        telemetry: false,
        appInfo: { name: 'OmniStack' },
        ...(base ? { host: base.host, port: base.port, protocol: base.protocol } : {}),
      })
    : undefined

  const stripe = () => {
    if (!client) throw serviceUnavailable('Stripe billing is not configured', { missing: 'STRIPE_SECRET_KEY' })
    return client
  }

  /** Runs one SDK call; any failure is 502 EXTERNAL_SERVICE_ERROR without Stripe's message (it may quote a key). */
  const call = async <T>(operation: string, fn: (s: Stripe) => Promise<T>): Promise<T> => {
    const s = stripe()
    try {
      return await fn(s)
    } catch (err) {
      const e = err as Partial<Stripe.errors.StripeError>
      const details = {
        provider: 'stripe',
        operation,
        type: e.type ?? 'StripeConnectionError',
        ...(e.code ? { code: e.code } : {}),
        ...(e.statusCode ? { upstream_status: e.statusCode } : {}),
        ...(e.requestId ? { upstream_request_id: e.requestId } : {}),
      }
      logger.warn('stripe request failed', details)
      throw externalServiceError(`Stripe ${operation} failed`, details)
    }
  }

  const priceOf = (plan: 'monthly' | 'yearly') => {
    const price = plan === 'monthly' ? config.stripePriceMonthly : config.stripePriceYearly
    if (!price)
      throw serviceUnavailable(`Plan ${plan} is not configured`, {
        missing: plan === 'monthly' ? 'STRIPE_PRICE_MONTHLY' : 'STRIPE_PRICE_YEARLY',
      })
    return price
  }

  /** The user's Stripe customer, created once: concurrent first calls share Stripe's idempotency key, the first stored id wins. */
  const ensureCustomer = async (user: { id: string; email: string | null; full_name: string | null }) => {
    const existing = await accounts.stripeCustomerOf(user.id)
    if (existing) return existing
    const params = { email: user.email ?? undefined, name: user.full_name ?? undefined, metadata: { user_id: user.id } }
    const key = createHash('sha256').update(JSON.stringify(params)).digest('hex').slice(0, 24)
    const customer = await call('customer creation', (s) =>
      s.customers.create(params, { idempotencyKey: `omnistack-customer-${key}` }),
    )
    return accounts.setStripeCustomer(user.id, customer.id)
  }

  /** The organization's Stripe customer, created once (docs/plugins/billing.md#organizations-and-seats). */
  const ensureOrgCustomer = async (
    org: { id: string; name: string },
    store: { customerOf(id: string): Promise<string | null>; setCustomer(id: string, c: string): Promise<string> },
  ) => {
    const existing = await store.customerOf(org.id)
    if (existing) return existing
    const params = { name: org.name, metadata: { org_id: org.id } }
    const customer = await call('customer creation', (s) =>
      s.customers.create(params, { idempotencyKey: `omnistack-org-customer-${org.id}` }),
    )
    return store.setCustomer(org.id, customer.id)
  }

  return {
    get configured() {
      return !!client
    },
    /** Throws 503 when STRIPE_SECRET_KEY is unset. */
    require: () => void stripe(),
    ensureCustomer,
    ensureOrgCustomer,

    async checkout(
      user: { id: string; email: string | null; full_name: string | null },
      input: { plan: 'monthly' | 'yearly'; success_url: string; cancel_url: string },
      /** An organization's checkout: its customer, one seat per member, `org_id` in the metadata. */
      org?: { id: string; customer: string; seats: number },
    ) {
      stripe()
      const price = priceOf(input.plan)
      const customer = org ? org.customer : await ensureCustomer(user)
      const owner: Record<string, string> = org ? { org_id: org.id } : { user_id: user.id }
      const session = await call('checkout session creation', (s) =>
        s.checkout.sessions.create({
          mode: 'subscription',
          customer,
          line_items: [{ price, quantity: org ? Math.max(1, org.seats) : 1 }],
          success_url: input.success_url,
          cancel_url: input.cancel_url,
          client_reference_id: org ? org.id : user.id,
          metadata: { ...owner, plan: input.plan },
          subscription_data: { metadata: owner },
        }),
      )
      return { session_id: session.id, url: session.url }
    },

    async portal(customer: string, returnUrl: string) {
      const session = await call('billing portal session creation', (s) =>
        s.billingPortal.sessions.create({ customer, return_url: returnUrl }),
      )
      return { url: session.url }
    },

    async invoices(customer: string, limit: number): Promise<InvoiceView[]> {
      const list = await call('invoice listing', (s) => s.invoices.list({ customer, limit }))
      return list.data.map((i) => ({
        id: i.id!,
        number: i.number ?? null,
        status: i.status ?? null,
        amount_due: i.amount_due,
        amount_paid: i.amount_paid,
        currency: i.currency,
        created: i.created,
        hosted_invoice_url: i.hosted_invoice_url ?? null,
        invoice_pdf: i.invoice_pdf ?? null,
      }))
    },

    /**
     * Sets the seat item's quantity. The idempotency key names the subscription, the quantity and
     * the change that asked for it: a retried job repeats the same call, Stripe answers it once.
     */
    setSeatQuantity: (
      item: string,
      quantity: number,
      proration: 'create_prorations' | 'none' | 'always_invoice',
      idempotencyKey: string,
    ) =>
      call('seat quantity update', (s) =>
        s.subscriptionItems.update(item, { quantity, proration_behavior: proration }, { idempotencyKey }),
      ),
    retrieveSubscription: (id: string) => call('subscription retrieval', (s) => s.subscriptions.retrieve(id)),
    /** Ends the subscription now; `idempotencyKey` names the cancellation (an organization's deletion). */
    cancelNow: (id: string, idempotencyKey?: string) =>
      call('subscription cancellation', (s) =>
        idempotencyKey ? s.subscriptions.cancel(id, {}, { idempotencyKey }) : s.subscriptions.cancel(id),
      ),
    setCancelAtPeriodEnd: (id: string, cancel: boolean) =>
      call(cancel ? 'subscription cancellation' : 'subscription resumption', (s) =>
        s.subscriptions.update(id, { cancel_at_period_end: cancel }),
      ),
  }
}

export type StripeApi = ReturnType<typeof createStripeApi>

/** TypeBox models of the billing plugin (validation and OpenAPI in one); response shapes per docs/plugins/billing.md#endpoints. */
import type { TSchema } from 'elysia'
import { INBOUND_STATUSES, t } from '../../core/index.ts'

const nullable = <T extends TSchema>(s: T) => t.Union([s, t.Null()])
const timestamp = t.String({ format: 'date-time' })
const httpUrl = (description: string) =>
  t.String({ minLength: 8, maxLength: 2048, pattern: '^[Hh][Tt][Tt][Pp][Ss]?://[^\\s]+$', description })

export namespace BillingModel {
  export const subscription = t.Object({
    source: t.UnionEnum(['stripe', 'apple', 'google']),
    plan: t.String(),
    status: t.String(),
    product_id: nullable(t.String()),
    current_period_end: nullable(timestamp),
    cancel_at_period_end: t.Boolean(),
  })

  export const status = t.Object({
    plan: t.String({
      description: '`free` without an active subscription; else the plan of the product (BILLING_PLAN_MAP)',
    }),
    status: nullable(t.String({ description: 'active, trialing, or the status of the most recent subscription' })),
    current_period_end: nullable(timestamp),
    cancel_at_period_end: t.Boolean(),
    has_active_subscription: t.Boolean(),
    source: nullable(t.UnionEnum(['stripe', 'apple', 'google'])),
    app_account_token: t.String({
      format: 'uuid',
      description: 'Pass as appAccountToken to StoreKit purchases: App Store notifications map to this user',
    }),
    subscriptions: t.Array(subscription),
  })

  export const checkout = t.Object({
    plan: t.UnionEnum(['monthly', 'yearly'], {
      description: 'monthly -> STRIPE_PRICE_MONTHLY, yearly -> STRIPE_PRICE_YEARLY',
    }),
    success_url: httpUrl('Redirect on success'),
    cancel_url: httpUrl('Redirect on cancel'),
  })
  export const checkoutSession = t.Object({ session_id: t.String(), url: nullable(t.String()) })

  export const portalQuery = t.Object({
    return_url: t.Optional(httpUrl('Where the portal returns to; default PUBLIC_URL')),
  })
  export const portal = t.Object({ url: t.String() })

  export const invoicesQuery = t.Object({
    limit: t.Integer({ minimum: 1, maximum: 100, default: 10, description: 'Most recent invoices (1-100)' }),
  })
  export const invoice = t.Object({
    id: t.String(),
    number: nullable(t.String()),
    status: nullable(t.String()),
    amount_due: t.Integer(),
    amount_paid: t.Integer(),
    currency: t.String(),
    created: t.Integer({ description: 'Unix time' }),
    hosted_invoice_url: nullable(t.String()),
    invoice_pdf: nullable(t.String()),
  })
  export const invoices = t.Array(invoice)

  export const cancelQuery = t.Object({
    immediate: t.Boolean({ default: false, description: 'Cancel now (no refund) instead of at the end of the period' }),
  })
  export const cancelled = t.Object({
    message: t.String(),
    status: t.String(),
    cancel_at_period_end: t.Boolean(),
    current_period_end: nullable(timestamp),
  })
  export const resumed = t.Object({ message: t.String(), status: t.String(), plan: t.String() })

  export const link = t.Object({
    platform: t.UnionEnum(['apple', 'google', 'ios', 'android']),
    purchase_token: t.String({
      minLength: 1,
      maxLength: 8192,
      description:
        'Google: the purchase token. Apple: the original transaction id, or the signed transaction (JWS) from StoreKit',
    }),
    product_id: t.String({ minLength: 1, maxLength: 255 }),
  })
  export const linked = t.Object({
    linked: t.Literal(true),
    platform: t.UnionEnum(['apple', 'google']),
    product_id: t.String(),
    applied_events: t.Integer({ description: 'Notifications received before the link, applied now' }),
    plan: t.String(),
    status: nullable(t.String()),
    has_active_subscription: t.Boolean(),
  })

  export const received = t.Object({
    received: t.Literal(true),
    duplicate: t.Boolean({ description: 'Delivered before: acknowledged, not applied again' }),
    // rejected: a redelivery, under the same id, of an event once refused by its shape check.
    status: t.UnionEnum(INBOUND_STATUSES),
  })
}

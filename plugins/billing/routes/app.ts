/** /app/billing routes (docs/plugins/billing.md#endpoints): status, checkout, portal, invoices, cancel, resume, mobile link. */
import { jsonDoc, type RouteContext } from '../../../core/index.ts'
import { BillingModel } from '../schema.ts'
import type { Billing } from '../service.ts'

/** With an active organization (X-Organization-ID): only owners and billing members manage its billing. */
const ORG_ROLE_ERROR = {
  403: {
    description: 'The active organization is managed by its owners and billing members only (AUTHORIZATION_ERROR)',
  },
}

const STRIPE_ERRORS = {
  502: { description: 'Stripe failed (EXTERNAL_SERVICE_ERROR); no secret in the message' },
  503: { description: 'Billing is not configured (SERVICE_UNAVAILABLE): STRIPE_SECRET_KEY unset' },
}

export const billingAppRoutes = ({ router }: RouteContext, billing: Billing) =>
  router('/billing')
    .get('/status', ({ user, principal }) => billing.status(user.id, principal.org), {
      scope: 'billing:read',
      detail: {
        summary: 'Get my billing status',
        description:
          'The plan derived from every source (Stripe, App Store, Google Play: an active subscription on any of them wins), ' +
          'each subscription, and the `app_account_token` to pass to StoreKit purchases. With an active organization ' +
          "(X-Organization-ID), the organization's plan and subscription instead, for any member. 503 when no billing provider is configured.",
        responses: {
          200: jsonDoc('Billing status', BillingModel.status),
          503: { description: 'No billing provider configured' },
        },
      },
    })
    .post('/checkout', ({ user, body, principal }) => billing.checkout(user, body, principal.org), {
      body: BillingModel.checkout,
      scope: 'billing:write',
      detail: {
        summary: 'Create a Stripe Checkout session',
        description:
          'Subscription checkout for plan monthly or yearly. The Stripe customer is created once per user and reused; ' +
          '`client_reference_id` and metadata carry the user id. 409 when a Stripe subscription is already active. ' +
          "With an active organization: the organization's own customer, one seat per member, metadata `org_id`; owners and billing members only.",
        responses: {
          200: jsonDoc('The session to redirect to', BillingModel.checkoutSession),
          409: { description: 'Already subscribed' },
          ...ORG_ROLE_ERROR,
          ...STRIPE_ERRORS,
        },
      },
    })
    .get('/portal', ({ user, query, principal }) => billing.portal(user, query.return_url, principal.org), {
      query: BillingModel.portalQuery,
      scope: 'billing:write',
      detail: {
        summary: 'Get a Stripe billing portal URL',
        description: "With an active organization: the organization's customer; owners and billing members only.",
        responses: { 200: jsonDoc('Portal session', BillingModel.portal), ...ORG_ROLE_ERROR, ...STRIPE_ERRORS },
      },
    })
    .get('/invoices', ({ user, query, principal }) => billing.invoices(user.id, query.limit, principal.org), {
      query: BillingModel.invoicesQuery,
      scope: 'billing:read',
      detail: {
        summary: 'List my invoices',
        description:
          "Most recent first, from Stripe; an empty list before the first checkout. With an active organization: the organization's invoices; owners and billing members only.",
        responses: { 200: jsonDoc('Invoices', BillingModel.invoices), ...ORG_ROLE_ERROR, ...STRIPE_ERRORS },
      },
    })
    .post('/cancel', ({ user, query, principal }) => billing.cancel(user.id, query.immediate, principal.org), {
      query: BillingModel.cancelQuery,
      scope: 'billing:write',
      detail: {
        summary: 'Cancel my Stripe subscription',
        description:
          'At the end of the billing period by default; `immediate=true` cancels now (no refund). 404 without a Stripe subscription. ' +
          "With an active organization: the organization's subscription; owners and billing members only.",
        responses: {
          200: jsonDoc('Cancellation', BillingModel.cancelled),
          404: { description: 'No Stripe subscription' },
          409: { description: 'Already ended' },
          ...ORG_ROLE_ERROR,
          ...STRIPE_ERRORS,
        },
      },
    })
    .post('/resume', ({ user, principal }) => billing.resume(user.id, principal.org), {
      scope: 'billing:write',
      detail: {
        summary: 'Resume my Stripe subscription',
        description:
          "Undoes a cancellation at period end. 409 for a subscription that has already ended. With an active organization: the organization's subscription; owners and billing members only.",
        responses: {
          200: jsonDoc('Resumed', BillingModel.resumed),
          404: { description: 'No Stripe subscription' },
          409: { description: 'Already ended' },
          ...ORG_ROLE_ERROR,
          ...STRIPE_ERRORS,
        },
      },
    })
    .post('/mobile/link', ({ user, body }) => billing.link(user.id, body), {
      body: BillingModel.link,
      scope: 'billing:write',
      detail: {
        summary: 'Link an App Store or Google Play purchase to me',
        description:
          'Store notifications about this purchase then apply to the caller; notifications that arrived before the link are applied now. ' +
          'A purchase linked to another account is 409.',
        responses: {
          200: jsonDoc('Linked', BillingModel.linked),
          409: { description: 'Linked to another account' },
          502: { description: 'The store API failed (EXTERNAL_SERVICE_ERROR)' },
          503: { description: 'That store is not configured' },
        },
      },
    })

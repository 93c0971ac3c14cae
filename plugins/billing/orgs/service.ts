/**
 * Billing of the active organization (docs/plugins/billing.md#organizations-and-seats): its plan,
 * checkout and portal on its own Stripe customer. Owners and `billing` members manage billing;
 * admins and members see the plan only (403, as the organizations plugin answers role failures).
 * A caller who is not a member never gets here: the core answered 404 for the header already.
 */
import { conflict, forbidden, notFound, type Principal, type Sql } from '../../../core/index.ts'
import type { BillingConfig } from '../config.ts'
import type { StripeApi } from '../providers/stripe-api.ts'
import { ENDED_STATUSES, type OrgStore } from './store.ts'
import { orgStateOf } from './stripe-state.ts'

/** The caller's membership of the active organization (principal.org). */
export type OrgMembership = NonNullable<Principal['org']>

/** What billing needs from the organizations plugin. */
export interface OrgDirectory {
  get(orgId: string): Promise<{ id: string; name: string } | undefined>
  memberCount(orgId: string): Promise<number>
}

/** Roles that manage an organization's billing: checkout, portal, invoices. */
export const ORG_BILLING_ROLES: readonly string[] = ['owner', 'billing']

const LIVE = new Set(['active', 'trialing', 'past_due'])

export function createOrgBilling(d: {
  stripe: StripeApi
  store: OrgStore
  orgs: OrgDirectory
  config: BillingConfig
  sql: Sql
  /** After the organization's subscription changed here: publish its plan, re-check seats. */
  changed: (orgId: string) => unknown
}) {
  const manager = (org: OrgMembership) => {
    if (!ORG_BILLING_ROLES.includes(org.role))
      throw forbidden("Only an owner or a billing member manages the organization's billing", {
        required: ORG_BILLING_ROLES,
      })
  }
  const live = async (orgId: string) => {
    const org = await d.orgs.get(orgId)
    if (!org) throw notFound('Organization', orgId)
    return org
  }

  return {
    /** Checkout for the organization: its customer, quantity = its member count now. */
    async checkout(
      user: { id: string; email: string | null; full_name: string | null },
      membership: OrgMembership,
      body: { plan: 'monthly' | 'yearly'; success_url: string; cancel_url: string },
    ) {
      manager(membership)
      const org = await live(membership.id)
      const current = await d.store.subscriptionOf(org.id)
      if (current && LIVE.has(current.status))
        throw conflict('The organization already has an active subscription: manage it in the billing portal', {
          status: current.status,
        })
      const [customer, seats] = await Promise.all([
        d.stripe.ensureOrgCustomer(org, d.store),
        d.orgs.memberCount(org.id),
      ])
      return d.stripe.checkout(user, body, { id: org.id, customer, seats })
    },

    async portal(membership: OrgMembership, returnUrl: string) {
      manager(membership)
      const org = await live(membership.id)
      return d.stripe.portal(await d.stripe.ensureOrgCustomer(org, d.store), returnUrl)
    },

    /** Cancels (at period end, or now) or resumes the organization's subscription; stores Stripe's answer. */
    async setCancellation(membership: OrgMembership, action: 'cancel' | 'cancel_now' | 'resume') {
      manager(membership)
      d.stripe.require()
      const row = await d.store.subscriptionOf(membership.id)
      if (!row) throw notFound('Subscription')
      if (ENDED_STATUSES.has(row.status))
        throw conflict(
          action === 'resume'
            ? 'A canceled subscription cannot be resumed: start a new checkout'
            : 'The subscription has already ended',
          { status: row.status },
        )
      const sub =
        action === 'cancel_now'
          ? await d.stripe.cancelNow(row.external_id)
          : await d.stripe.setCancelAtPeriodEnd(row.external_id, action === 'cancel')
      const state = orgStateOf(sub, membership.id, d.config)
      await d.store.put(state, d.sql)
      d.changed(membership.id)
      return state
    },

    async invoices(membership: OrgMembership, limit: number) {
      manager(membership)
      const customer = await d.store.customerOf(membership.id)
      return customer ? d.stripe.invoices(customer, limit) : []
    },
  }
}

export type OrgBilling = ReturnType<typeof createOrgBilling>

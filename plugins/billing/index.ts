/** Billing: Stripe subscriptions, verified Stripe / App Store / Google Play webhooks through one inbound-event pipeline, derived plans. */
import { definePlugin, optional } from '../../core/index.ts'
import users from '../users/index.ts'
import { billingConfig } from './config.ts'
import { billingDoctor } from './doctor.ts'
import type { FeatureFlagsPort, OrganizationsPort } from './ports.ts'
import { billingAppRoutes } from './routes/app.ts'
import { webhookRoutes } from './routes/webhooks.ts'
import { subscribeOrgEvents } from './orgs/subscribers.ts'
import { ACKNOWLEDGE_JOB } from './providers/google.ts'
import { createBilling, type SubscriptionUpdated } from './service.ts'

export type { Billing, SubscriptionUpdated } from './service.ts'
export type {
  InboundEvent,
  InboundPipeline,
  InboundApplier as Applier,
  InboundOutcome as Outcome,
  StoredInboundEvent as StoredEvent,
} from '../../core/index.ts'
export { ACTIVE_STATUSES, derive, type DerivedState } from './subscriptions.ts'

declare module '../../core/index.ts' {
  interface EventMap {
    /** A user's subscription changed (any source); broadcast, so the websocket plugin can notify `user:<user_id>` on every replica. */
    'subscription.updated': SubscriptionUpdated
    /** An organization's subscription changed (Stripe); broadcast, so every replica's feature flags drop the cached plan. */
    'org_subscription.updated': { org_id: string; plan: string; status: string | null }
  }
}

export default definePlugin({
  name: 'billing',
  dependsOn: { users },
  // plan_based flags follow the plan billing derives, when the feature-flags plugin is installed;
  // organizations hold subscriptions and seats when that plugin is (docs/plugins/billing.md#organizations-and-seats).
  optionalDependsOn: {
    featureFlags: optional<FeatureFlagsPort>('feature-flags'),
    organizations: optional<OrganizationsPort>('organizations'),
  },
  tag: { name: 'Billing', description: 'Subscriptions (Stripe, App Store, Google Play) and their webhooks' },
  config: billingConfig,
  doctor: billingDoctor,
  migrations: new URL('./migrations/', import.meta.url),
  setup: (ctx) => {
    const orgs = ctx.deps.organizations
    const billing = createBilling(ctx, orgs)
    // subscription_plan / subscription_status on /users/me and the admin user lists.
    ctx.deps.users.addProfileFields(async (ids) => {
      const states = await billing.store.derivedMany(ids)
      return Object.fromEntries(
        ids.map((id) => [id, { subscription_plan: states[id]!.plan, subscription_status: states[id]!.status }]),
      )
    })
    // Dashboard section `subscriptions`; service users (an organization's) are not counted as free users.
    ctx.stats.contribute('subscriptions', () => billing.store.stats(ctx.deps.users.people()))
    // With an active organization a member's plan is the organization's.
    ctx.deps.featureFlags?.setPlanResolver((userId, orgId) => billing.planOf(userId, orgId))
    // Seats follow members and a deleted organization's subscription ends, durably (orgs/subscribers.ts).
    if (orgs) subscribeOrgEvents(ctx, billing)
    const c = ctx.config
    return {
      service: billing,
      routes: {
        public: (r) => webhookRoutes(r, billing),
        app: (r) => billingAppRoutes(r, billing),
      },
      // Providers deliver in bursts (a Stripe backlog, an App Store retry wave): their own per-IP class.
      rateLimits: Object.fromEntries(
        ['stripe', 'apple', 'google'].map((p) => [
          `webhooks-${p}`,
          { path: `/public/webhooks/${p}`, methods: ['POST'], rule: c.webhookRateLimit, perIp: true },
        ]),
      ),
      jobs: {
        // Enqueued when a Play purchase is applied unacknowledged; retried with backoff for hours, well inside Google's 3 days.
        [ACKNOWLEDGE_JOB]: (payload: { product_id: string; purchase_token: string }) =>
          billing.play.acknowledge(payload.product_id, payload.purchase_token),
      },
      start: () => {
        if (c.stripeSecretKey && !/^(sk|rk)_/.test(c.stripeSecretKey))
          ctx.logger.warn('STRIPE_SECRET_KEY does not look like a Stripe secret key (sk_... or rk_...)')
        if (c.stripeSecretKey && !c.stripeWebhookSecret)
          ctx.logger.warn(
            'STRIPE_SECRET_KEY is set without STRIPE_WEBHOOK_SECRET: subscription changes will not arrive',
          )
        if (c.googlePackageName && !c.googlePubsubAudience)
          ctx.logger.warn(
            'GOOGLE_PUBSUB_AUDIENCE is unset: Google push notifications are accepted without a token check',
          )
        if (c.googlePubsubAudience && !c.googlePubsubServiceAccount)
          ctx.logger.warn(
            'GOOGLE_PUBSUB_SERVICE_ACCOUNT is unset: any Google-signed token for the audience is accepted',
          )
      },
    }
  },
})

/** The billing service: status, Stripe checkout/portal/invoices/cancel/resume, mobile purchase links and the three webhooks. */
import { randomUUID, X509Certificate } from 'node:crypto'
import {
  conflict,
  externalServiceError,
  notFound,
  serviceUnavailable,
  validation,
  type InboundEvent,
  type PluginContext,
  type User,
} from '../../core/index.ts'
import { createAccounts, type Platform } from './accounts.ts'
import { createOrgBilling, type OrgDirectory, type OrgMembership } from './orgs/service.ts'
import { createSeatSync, SEAT_SYNC_JOB, type SeatJob } from './orgs/seats.ts'
import { createOrgStore, deriveOrg } from './orgs/store.ts'
import { APPLE_ROOT_CA_G3_PEM } from './certs/apple-root-ca-g3.ts'
import type { BillingConfig } from './config.ts'
import { appleApplier, verifyAppleNotification } from './providers/apple.ts'
import { AppleJwsError, verifyAppleJws } from './providers/apple-jws.ts'
import { createOcspChecker } from './providers/apple-ocsp.ts'
import {
  createPushTokenVerifier,
  decodeGooglePush,
  googleApplier,
  googlePreparer,
  putPlayPurchase,
} from './providers/google.ts'
import { createPlayApi, PlayPurchaseUnknown, type PlaySubscription } from './providers/google-play-api.ts'
import { createStripeApi, stripeSubscriptionState } from './providers/stripe-api.ts'
import { stripeApplier, verifyStripeWebhook } from './providers/stripe.ts'
import {
  createSubscriptionStore,
  derive,
  type DerivedState,
  type Source,
  type SubscriptionRow,
} from './subscriptions.ts'

/** Payload of `subscription.updated` (broadcast, JSON-safe): the user's derived state after a change from `source`. */
export interface SubscriptionUpdated {
  user_id: string
  source: Source
  plan: string
  status: string | null
  has_active_subscription: boolean
  current_period_end: string | null
  cancel_at_period_end: boolean
}

const ENDED = new Set(['canceled', 'incomplete_expired'])
const iso = (d: Date | null) => (d ? d.toISOString() : null)
/** Our clock, floored to the second: a Stripe event of the same second (its `created`) still applies after an API change. */
const apiTime = () => new Date(Math.floor(Date.now() / 1000) * 1000)

function checkUrl(field: string, url: string) {
  try {
    const u = new URL(url)
    if ((u.protocol === 'http:' || u.protocol === 'https:') && u.hostname) return
  } catch {}
  throw validation(field, `${field} must be an absolute http(s) URL`)
}

/**
 * `orgs`: the organizations plugin's directory when it is installed; without it no organization
 * reaches billing (principal.org is never set) and nothing here changes.
 */
/** GET /billing/status: the derived state, the StoreKit token and each subscription behind it. */
const statusView = (d: DerivedState, token: string, rows: Pick<SubscriptionRow, SubscriptionField>[]) => ({
  plan: d.plan,
  status: d.status,
  current_period_end: d.current_period_end,
  cancel_at_period_end: d.cancel_at_period_end,
  has_active_subscription: d.has_active_subscription,
  source: d.source,
  app_account_token: token,
  subscriptions: rows.map((r) => ({
    source: r.source,
    plan: r.plan,
    status: r.status,
    product_id: r.product_id,
    current_period_end: r.current_period_end,
    cancel_at_period_end: r.cancel_at_period_end,
  })),
})
type SubscriptionField = 'source' | 'plan' | 'status' | 'product_id' | 'current_period_end' | 'cancel_at_period_end'

export function createBilling(ctx: PluginContext<BillingConfig>, orgs?: OrgDirectory) {
  const { sql, config, logger, events } = ctx
  const accounts = createAccounts(sql)
  const store = createSubscriptionStore(sql)
  const orgStore = createOrgStore(sql)
  // The core's pipeline: one table, retry job and admin list for every provider (Clerk and Supabase too).
  const pipeline = ctx.inbound
  const stripe = createStripeApi(config, accounts, logger)
  const roots = config.appleRootCa ?? [new X509Certificate(APPLE_ROOT_CA_G3_PEM)]
  // APPLE_ONLINE_CHECKS: one OCSP client per app, its cache of good answers shared by every check.
  const ocsp = config.appleOnlineChecks ? createOcspChecker() : undefined
  const verifyPushToken = createPushTokenVerifier(config)
  const play = createPlayApi(config, logger)

  const derived = async (userId: string) => derive(await store.ofUser(userId))

  const notify = async (userId: string, source: Source) => {
    const d = await derived(userId)
    const payload: SubscriptionUpdated = {
      user_id: userId,
      source,
      plan: d.plan,
      status: d.status,
      has_active_subscription: d.has_active_subscription,
      current_period_end: iso(d.current_period_end),
      cancel_at_period_end: d.cancel_at_period_end,
    }
    await events.publish('subscription.updated', payload, { broadcast: true })
  }
  const runAfter = (fns: (() => unknown)[]) => {
    for (const fn of fns)
      Promise.resolve()
        .then(fn)
        .catch((err) => logger.error('billing follow-up failed', { error: err }))
  }

  // Seats (docs/plugins/billing.md#organizations-and-seats): one job per change, the count read when it runs.
  const enqueueSeatSync = (orgId: string) =>
    ctx.jobs.enqueue(SEAT_SYNC_JOB, { org_id: orgId, change_id: randomUUID() } satisfies SeatJob)
  /** After an organization's subscription changed: tell every replica its plan, and re-check its seats. */
  const orgChanged = async (orgId: string) => {
    const d = await orgStore.derivedOf(orgId)
    await events.publish(
      'org_subscription.updated',
      { org_id: orgId, plan: d.plan, status: d.status },
      { broadcast: true },
    )
    await enqueueSeatSync(orgId)
  }
  const orgBilling = orgs
    ? createOrgBilling({
        stripe,
        store: orgStore,
        orgs,
        config,
        sql,
        changed: (id) => runAfter([() => orgChanged(id)]),
      })
    : undefined
  const seatSync = orgs
    ? createSeatSync({ config, store: orgStore, stripe, memberCount: (id) => orgs.memberCount(id), logger })
    : undefined

  pipeline.register(
    'stripe',
    stripeApplier({
      config,
      accounts,
      store,
      pipeline,
      notify,
      orgs: orgs ? { store: orgStore, changed: (orgId) => runAfter([() => orgChanged(orgId)]) } : undefined,
    }),
  )
  pipeline.register('apple', appleApplier({ config, accounts, store, notify }))
  pipeline.register('google', googleApplier({ config, accounts, store, jobs: ctx.jobs, notify }), {
    prepare: googlePreparer(play),
  })

  const anyConfigured = () => stripe.configured || !!config.appleBundleId || !!config.googlePackageName

  const stripeSubscription = async (userId: string) => {
    stripe.require()
    const row = (await store.ofUser(userId)).find((r) => r.source === 'stripe')
    if (!row) throw notFound('Subscription')
    return row
  }

  /** Applies a subscription Stripe returned to an API call, then tells the user. */
  const applyApiResult = async (userId: string, sub: Parameters<typeof stripeSubscriptionState>[0]) => {
    const state = stripeSubscriptionState(sub, userId, apiTime(), config)
    await store.put(state, sql)
    runAfter([() => notify(userId, 'stripe')])
    return state
  }

  /** Apple: the purchase is the original transaction id, or StoreKit's signed transaction (verified, then its id). */
  const appleTransactionId = async (token: string) => {
    if (token.split('.').length !== 3) return token
    const tx = await verifyAppleJws(token, roots, { ocsp }).catch((err) => {
      if (err instanceof AppleJwsError)
        throw validation('purchase_token', `purchase_token is not a valid signed App Store transaction (${err.reason})`)
      throw err
    })
    if (tx.bundleId !== config.appleBundleId || typeof tx.originalTransactionId !== 'string')
      throw validation('purchase_token', 'purchase_token is a transaction of another app')
    return tx.originalTransactionId
  }

  /** Google, with the Play Developer API configured: the purchase must exist for this app and be of `productId`. */
  const playPurchase = async (token: string, productId: string) => {
    let purchase: PlaySubscription
    try {
      purchase = await play.subscription(token)
    } catch (err) {
      if (err instanceof PlayPurchaseUnknown)
        throw validation('purchase_token', 'purchase_token is not a Google Play subscription purchase of this app')
      logger.warn('Play Developer API call failed', { error: err })
      throw externalServiceError('Google Play could not confirm the purchase; try again', { provider: 'google' })
    }
    const products = (purchase.lineItems ?? []).map((i) => i.productId)
    if (products.length && !products.includes(productId))
      throw validation('product_id', 'product_id is not the product of this purchase')
    return { purchase, fetchedAt: new Date() }
  }

  const receive = async (event: InboundEvent) => {
    const r = await pipeline.receive(event)
    return { received: true, duplicate: r.duplicate, status: r.status }
  }

  /** The organization's billing state in the shape of GET /billing/status (its subscription is a Stripe one). */
  const orgStatus = async (userId: string, orgId: string) => {
    const [row, token] = await Promise.all([orgStore.subscriptionOf(orgId), accounts.appAccountToken(userId)])
    return statusView(deriveOrg(row), token, row ? [{ ...row, source: 'stripe' as const }] : [])
  }

  return {
    config,
    accounts,
    store,
    orgStore,
    seatSync,
    enqueueSeatSync,

    /** The plan that applies: the active organization's when one is named, else the user's own. */
    async planOf(userId: string, orgId?: string): Promise<string> {
      if (orgId && orgs) return (await orgStore.derivedOf(orgId)).plan
      return (await store.derivedMany([userId]))[userId]?.plan ?? 'free'
    },
    pipeline,
    stripe,
    notify,
    play,

    async status(userId: string, org?: OrgMembership) {
      if (!anyConfigured()) throw serviceUnavailable('Billing is not configured', { missing: 'STRIPE_SECRET_KEY' })
      if (org && orgs) return orgStatus(userId, org.id)
      const [rows, token] = await Promise.all([store.ofUser(userId), accounts.appAccountToken(userId)])
      return statusView(derive(rows), token, rows)
    },

    async checkout(
      user: User,
      body: { plan: 'monthly' | 'yearly'; success_url: string; cancel_url: string },
      org?: OrgMembership,
    ) {
      stripe.require()
      checkUrl('success_url', body.success_url)
      checkUrl('cancel_url', body.cancel_url)
      if (org && orgBilling) return orgBilling.checkout(user, org, body)
      const current = (await store.ofUser(user.id)).find((r) => r.source === 'stripe')
      if (current && (current.status === 'active' || current.status === 'trialing' || current.status === 'past_due')) {
        throw conflict('You already have an active subscription: manage it in the billing portal', {
          status: current.status,
        })
      }
      return stripe.checkout(user, body)
    },

    async portal(user: User, returnUrl: string | undefined, org?: OrgMembership) {
      stripe.require()
      const url = returnUrl ?? ctx.core.publicUrl
      checkUrl('return_url', url)
      if (org && orgBilling) return orgBilling.portal(org, url)
      return stripe.portal(await stripe.ensureCustomer(user), url)
    },

    async invoices(userId: string, limit: number, org?: OrgMembership) {
      stripe.require()
      if (org && orgBilling) return orgBilling.invoices(org, limit)
      const customer = await accounts.stripeCustomerOf(userId)
      return customer ? stripe.invoices(customer, limit) : []
    },

    async cancel(userId: string, immediate: boolean, org?: OrgMembership) {
      if (org && orgBilling) {
        const state = await orgBilling.setCancellation(org, immediate ? 'cancel_now' : 'cancel')
        return {
          message: immediate ? 'Subscription canceled' : 'Subscription will cancel at the end of the billing period',
          status: state.status,
          cancel_at_period_end: state.cancelAtPeriodEnd,
          current_period_end: state.currentPeriodEnd,
        }
      }
      const row = await stripeSubscription(userId)
      if (ENDED.has(row.status)) throw conflict('The subscription has already ended', { status: row.status })
      const sub = immediate
        ? await stripe.cancelNow(row.external_id)
        : await stripe.setCancelAtPeriodEnd(row.external_id, true)
      const state = await applyApiResult(userId, sub)
      return {
        message: immediate ? 'Subscription canceled' : 'Subscription will cancel at the end of the billing period',
        status: state.status,
        cancel_at_period_end: state.cancelAtPeriodEnd,
        current_period_end: state.currentPeriodEnd,
      }
    },

    async resume(userId: string, org?: OrgMembership) {
      if (org && orgBilling) {
        const state = await orgBilling.setCancellation(org, 'resume')
        return { message: 'Subscription resumed', status: state.status, plan: state.plan }
      }
      const row = await stripeSubscription(userId)
      if (ENDED.has(row.status))
        throw conflict('A canceled subscription cannot be resumed: start a new checkout', { status: row.status })
      const sub = await stripe.setCancelAtPeriodEnd(row.external_id, false)
      const state = await applyApiResult(userId, sub)
      return { message: 'Subscription resumed', status: state.status, plan: state.plan }
    },

    /** Links a store purchase to the user and applies the notifications that were waiting for it. */
    async link(userId: string, body: { platform: string; purchase_token: string; product_id: string }) {
      const platform: Platform = body.platform === 'ios' || body.platform === 'apple' ? 'apple' : 'google'
      if (platform === 'apple' && !config.appleBundleId)
        throw serviceUnavailable('App Store purchases are not configured', { missing: 'APPLE_BUNDLE_ID' })
      if (platform === 'google' && !config.googlePackageName)
        throw serviceUnavailable('Google Play purchases are not configured', { missing: 'GOOGLE_PACKAGE_NAME' })
      const token = platform === 'apple' ? await appleTransactionId(body.purchase_token) : body.purchase_token
      const checked = platform === 'google' && play.configured ? await playPurchase(token, body.product_id) : undefined
      const { pending, current } = await sql.begin(async (tx) => {
        await accounts.ensure(userId, tx)
        await accounts.lock(platform, token, tx)
        await accounts.link({ userId, platform, purchaseToken: token, productId: body.product_id }, tx)
        const pending = await pipeline.applyPending(platform, token, tx)
        // Then the purchase as Google shows it now, newer than any waiting notification.
        const current = checked
          ? !!(await putPlayPurchase(
              { config, store, jobs: ctx.jobs },
              { userId, token, productId: body.product_id, ...checked },
              tx,
            ))
          : false
        return { pending, current }
      })
      runAfter(current ? [...pending.after, () => notify(userId, 'google')] : pending.after)
      const d = await derived(userId)
      return {
        linked: true,
        platform,
        product_id: body.product_id,
        applied_events: pending.applied,
        plan: d.plan,
        status: d.status,
        has_active_subscription: d.has_active_subscription,
      }
    },

    webhooks: {
      stripe: async (raw: string, signature: string | null) =>
        receive(await verifyStripeWebhook(raw, signature, config.stripeWebhookSecret)),
      apple: async (raw: string) => receive(await verifyAppleNotification(raw, config, roots, ocsp)),
      google: async (raw: string, authorization: string | null) => {
        if (!config.googlePackageName)
          throw serviceUnavailable('Google Play notifications are not configured', { missing: 'GOOGLE_PACKAGE_NAME' })
        await verifyPushToken(authorization)
        return receive(decodeGooglePush(raw, config))
      },
    },
  }
}

export type Billing = ReturnType<typeof createBilling>

/** Google Play real-time developer notifications over Pub/Sub push: the OIDC push token, the base64 DeveloperNotification, then applied. */
import { Buffer } from 'node:buffer'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import { badRequest, serviceUnavailable, unauthenticated } from '../../../core/index.ts'
import type { Accounts } from '../accounts.ts'
import { planFor, type BillingConfig } from '../config.ts'
import type { InboundApplier as Applier, InboundEvent, InboundOutcome as Outcome, InboundTx as Tx, StoredInboundEvent as StoredEvent } from '../../../core/index.ts'
import type { SubscriptionStore } from '../subscriptions.ts'

/** SubscriptionNotification.notificationType -> name and the state it leaves (undefined: no state change). */
const TYPES: Record<number, { name: string; status?: string; cancel?: boolean }> = {
  1: { name: 'SUBSCRIPTION_RECOVERED', status: 'active', cancel: false },
  2: { name: 'SUBSCRIPTION_RENEWED', status: 'active', cancel: false },
  3: { name: 'SUBSCRIPTION_CANCELED', status: 'active', cancel: true },
  4: { name: 'SUBSCRIPTION_PURCHASED', status: 'active', cancel: false },
  5: { name: 'SUBSCRIPTION_ON_HOLD', status: 'on_hold', cancel: false },
  6: { name: 'SUBSCRIPTION_IN_GRACE_PERIOD', status: 'in_grace_period', cancel: false },
  7: { name: 'SUBSCRIPTION_RESTARTED', status: 'active', cancel: false },
  8: { name: 'SUBSCRIPTION_PRICE_CHANGE_CONFIRMED' },
  9: { name: 'SUBSCRIPTION_DEFERRED', status: 'active', cancel: false },
  10: { name: 'SUBSCRIPTION_PAUSED', status: 'paused', cancel: false },
  11: { name: 'SUBSCRIPTION_PAUSE_SCHEDULE_CHANGED' },
  12: { name: 'SUBSCRIPTION_REVOKED', status: 'revoked', cancel: false },
  13: { name: 'SUBSCRIPTION_EXPIRED', status: 'expired', cancel: false },
  19: { name: 'SUBSCRIPTION_PRICE_CHANGE_UPDATED' },
  20: { name: 'SUBSCRIPTION_PENDING_PURCHASE_CANCELED' },
}
const ISSUERS = ['https://accounts.google.com', 'accounts.google.com']
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/

/** Checks the push's OIDC token when GOOGLE_PUBSUB_AUDIENCE is set: signature (Google's JWKS), issuer, audience, service account. */
export function createPushTokenVerifier(config: BillingConfig) {
  const jwks = config.googlePubsubAudience ? createRemoteJWKSet(new URL(config.googleOidcJwksUrl!), { timeoutDuration: 5000 }) : undefined
  return async (authorization: string | null) => {
    if (!jwks) return
    const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')
    if (!m) throw unauthenticated('Missing push authentication token')
    let claims: Record<string, unknown>
    try {
      claims = (await jwtVerify(m[1]!, jwks, { audience: config.googlePubsubAudience, issuer: ISSUERS, clockTolerance: 30 })).payload
    } catch (err) {
      // jose's own errors are ERR_*: a token problem. Anything else is the key fetch failing.
      const code = String((err as { code?: unknown }).code ?? '')
      if (code === 'ERR_JWKS_TIMEOUT' || code === 'ERR_JWKS_INVALID' || !code.startsWith('ERR_')) {
        throw serviceUnavailable('Google signing keys are unreachable', { provider: 'google' })
      }
      throw unauthenticated('Invalid push authentication token')
    }
    if (config.googlePubsubServiceAccount && (claims.email !== config.googlePubsubServiceAccount || claims.email_verified !== true)) {
      throw unauthenticated('Push token from an unexpected service account')
    }
  }
}

/** Decodes `{message: {data, messageId}}`; anything malformed is 400. */
export function decodeGooglePush(raw: string, config: BillingConfig): InboundEvent {
  const bad = (why: string) => badRequest(`Undecodable Pub/Sub push: ${why}`, { provider: 'google' })
  let body: any
  try {
    body = JSON.parse(raw)
  } catch {
    throw bad('not JSON')
  }
  const message = body?.message
  const messageId = message?.messageId ?? message?.message_id
  if (typeof messageId !== 'string' || !messageId) throw bad('message.messageId is required')
  if (typeof message.data !== 'string' || !message.data || !BASE64.test(message.data)) throw bad('message.data must be base64')
  let n: any
  try {
    n = JSON.parse(Buffer.from(message.data, 'base64').toString('utf8'))
  } catch {
    throw bad('message.data is not a JSON notification')
  }
  if (!n || typeof n !== 'object' || typeof n.packageName !== 'string') throw bad('not a DeveloperNotification')
  if (n.packageName !== config.googlePackageName) throw badRequest('Play notification refused: package name', { provider: 'google' })
  const millis = Number(n.eventTimeMillis)
  const sub = n.subscriptionNotification
  const voided = n.voidedPurchaseNotification
  const type = sub
    ? (TYPES[sub.notificationType]?.name ?? `SUBSCRIPTION_NOTIFICATION_${sub.notificationType}`)
    : voided ? 'VOIDED_PURCHASE' : n.testNotification ? 'TEST_NOTIFICATION' : n.oneTimeProductNotification ? 'ONE_TIME_PRODUCT_NOTIFICATION' : 'UNKNOWN'
  const token = sub?.purchaseToken ?? voided?.purchaseToken
  if ((sub || voided) && (typeof token !== 'string' || !token)) throw bad('purchaseToken is required')
  return {
    provider: 'google',
    eventId: messageId,
    type,
    occurredAt: Number.isFinite(millis) && millis > 0 ? new Date(millis) : null,
    subject: typeof token === 'string' ? token : null,
    environment: null,
    payload: { message_id: messageId, publish_time: message.publishTime ?? message.publish_time ?? null, subscription: body.subscription ?? null, notification: n },
  }
}

export interface GoogleApplierDeps {
  config: BillingConfig
  accounts: Accounts
  store: SubscriptionStore
  notify: (userId: string, source: 'google') => unknown
}

export function googleApplier(d: GoogleApplierDeps): Applier {
  return async (ev: StoredEvent, tx: Tx): Promise<Outcome> => {
    const n = ev.payload.notification
    const sub = n.subscriptionNotification
    const voided = n.voidedPurchaseNotification
    const change = sub ? TYPES[sub.notificationType] : voided && voided.productType === 1 ? { name: 'VOIDED_PURCHASE', status: 'revoked', cancel: false } : undefined
    if (!change?.status) return { status: 'ignored', note: `${ev.type} does not change a subscription` }
    const token: string = sub?.purchaseToken ?? voided?.purchaseToken
    if (typeof token !== 'string' || !token) return { status: 'ignored', note: 'no purchase token' }
    await d.accounts.lock('google', token, tx)
    const link = await d.accounts.linkOf('google', token, tx)
    if (!link) return { status: 'unmatched', subject: token, note: 'purchase not linked to a user yet' }
    const productId: string = sub?.subscriptionId ?? link.product_id
    const row = await d.store.put(
      {
        userId: link.user_id,
        source: 'google',
        externalId: token,
        at: ev.occurred_at ?? ev.received_at,
        productId,
        plan: planFor(d.config, productId),
        status: change.status,
        // Notifications carry no expiry (the Play Developer API has it): the stored one is kept.
        currentPeriodEnd: null,
        cancelAtPeriodEnd: change.cancel ?? false,
      },
      tx,
    )
    if (!row) return { status: 'ignored', userId: link.user_id, subject: token, note: 'older than the stored state of this subscription' }
    return { status: 'applied', userId: link.user_id, subject: token, after: () => d.notify(link.user_id, 'google') }
  }
}

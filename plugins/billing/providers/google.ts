/** Google Play real-time developer notifications over Pub/Sub push: the OIDC push token, the base64 DeveloperNotification, then applied. */
import { Buffer } from 'node:buffer'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import { badRequest, serviceUnavailable, unauthenticated, type JobQueue } from '../../../core/index.ts'
import type { Accounts } from '../accounts.ts'
import { planFor, type BillingConfig } from '../config.ts'
import type {
  InboundApplier as Applier,
  InboundEvent,
  InboundOutcome as Outcome,
  InboundTx as Tx,
  StoredInboundEvent as StoredEvent,
} from '../../../core/index.ts'
import type { SubscriptionStore } from '../subscriptions.ts'
import {
  bodyDigest,
  integer,
  isObject,
  malformedOf,
  object,
  optInteger,
  optObject,
  optString,
  rawPayload,
  ShapeError,
  string,
} from './shape.ts'
import { playState, PlayPurchaseUnknown, type PlayApi, type PlaySubscription } from './google-play-api.ts'

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
  const jwks = config.googlePubsubAudience
    ? createRemoteJWKSet(new URL(config.googleOidcJwksUrl!), { timeoutDuration: 5000 })
    : undefined
  return async (authorization: string | null) => {
    if (!jwks) return
    const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')
    if (!m) throw unauthenticated('Missing push authentication token')
    let claims: Record<string, unknown>
    try {
      claims = (
        await jwtVerify(m[1]!, jwks, { audience: config.googlePubsubAudience, issuer: ISSUERS, clockTolerance: 30 })
      ).payload
    } catch (err) {
      // jose's own errors are ERR_*: a token problem. Anything else is the key fetch failing.
      const code = String((err as { code?: unknown }).code ?? '')
      if (code === 'ERR_JWKS_TIMEOUT' || code === 'ERR_JWKS_INVALID' || !code.startsWith('ERR_')) {
        throw serviceUnavailable('Google signing keys are unreachable', { provider: 'google' })
      }
      throw unauthenticated('Invalid push authentication token')
    }
    if (
      config.googlePubsubServiceAccount &&
      (claims.email !== config.googlePubsubServiceAccount || claims.email_verified !== true)
    ) {
      throw unauthenticated('Push token from an unexpected service account')
    }
  }
}

const DATA = 'message.data'

/** The DeveloperNotification's fields the applier and the preparer read. */
function checkNotification(n: unknown) {
  const o = object(n, DATA)
  string(o.packageName, `${DATA}.packageName`)
  optString(o.version, `${DATA}.version`)
  if (typeof o.eventTimeMillis !== 'string' || !/^\d{1,16}$/.test(o.eventTimeMillis))
    optInteger(o.eventTimeMillis, `${DATA}.eventTimeMillis`)
  const sub = optObject(o.subscriptionNotification, `${DATA}.subscriptionNotification`)
  if (sub) {
    integer(sub.notificationType, `${DATA}.subscriptionNotification.notificationType`)
    string(sub.purchaseToken, `${DATA}.subscriptionNotification.purchaseToken`)
    optString(sub.subscriptionId, `${DATA}.subscriptionNotification.subscriptionId`)
  }
  const oneTime = optObject(o.oneTimeProductNotification, `${DATA}.oneTimeProductNotification`)
  if (oneTime) {
    integer(oneTime.notificationType, `${DATA}.oneTimeProductNotification.notificationType`)
    string(oneTime.purchaseToken, `${DATA}.oneTimeProductNotification.purchaseToken`)
    optString(oneTime.sku, `${DATA}.oneTimeProductNotification.sku`)
  }
  const voided = optObject(o.voidedPurchaseNotification, `${DATA}.voidedPurchaseNotification`)
  if (voided) {
    string(voided.purchaseToken, `${DATA}.voidedPurchaseNotification.purchaseToken`)
    optString(voided.orderId, `${DATA}.voidedPurchaseNotification.orderId`)
    optInteger(voided.productType, `${DATA}.voidedPurchaseNotification.productType`)
    optInteger(voided.refundType, `${DATA}.voidedPurchaseNotification.refundType`)
  }
  const test = optObject(o.testNotification, `${DATA}.testNotification`)
  if (test) optString(test.version, `${DATA}.testNotification.version`)
}

/**
 * Decodes `{message: {data, messageId}}` (the push token was verified before). A push without the
 * shape of a DeveloperNotification comes back `malformed` (stored as rejected under its messageId,
 * else a digest of the body); a notification of another package is refused (400, nothing stored).
 */
export function decodeGooglePush(raw: string, config: BillingConfig): InboundEvent {
  let body: unknown
  try {
    body = JSON.parse(raw)
  } catch {
    return {
      provider: 'google',
      eventId: bodyDigest(raw),
      type: 'unknown',
      payload: rawPayload(raw),
      malformed: { field: 'body', message: 'must be JSON' },
    }
  }
  const envelope = isObject(body) ? body : {}
  const message = isObject(envelope.message) ? envelope.message : {}
  const id = message.messageId ?? message.message_id
  const messageId = typeof id === 'string' && id ? id : undefined
  let n: any
  const malformed = malformedOf(() => {
    const m = object(object(body, 'body').message, 'message')
    string(m.messageId ?? m.message_id, 'message.messageId')
    optString(m.publishTime ?? m.publish_time, 'message.publishTime')
    const data = string(m.data, DATA)
    if (!BASE64.test(data)) throw new ShapeError(DATA, 'must be base64')
    try {
      n = JSON.parse(Buffer.from(data, 'base64').toString('utf8'))
    } catch {
      throw new ShapeError(DATA, 'must be a base64 JSON DeveloperNotification')
    }
    checkNotification(n)
  })
  if (malformed)
    return {
      provider: 'google',
      eventId: messageId ?? bodyDigest(raw),
      type: 'unknown',
      payload: { message_id: messageId ?? null, body, notification: n ?? null },
      malformed,
    }
  if (n.packageName !== config.googlePackageName)
    throw badRequest('Play notification refused: package name', { provider: 'google' })
  const millis = Number(n.eventTimeMillis)
  const sub = n.subscriptionNotification
  const voided = n.voidedPurchaseNotification
  const type = sub
    ? (TYPES[sub.notificationType]?.name ?? `SUBSCRIPTION_NOTIFICATION_${sub.notificationType}`)
    : voided
      ? 'VOIDED_PURCHASE'
      : n.testNotification
        ? 'TEST_NOTIFICATION'
        : n.oneTimeProductNotification
          ? 'ONE_TIME_PRODUCT_NOTIFICATION'
          : 'UNKNOWN'
  const token = sub?.purchaseToken ?? voided?.purchaseToken
  return {
    provider: 'google',
    eventId: messageId!,
    type,
    occurredAt: Number.isFinite(millis) && millis > 0 ? new Date(millis) : null,
    subject: typeof token === 'string' ? token : null,
    environment: null,
    payload: {
      message_id: messageId,
      publish_time: message.publishTime ?? message.publish_time ?? null,
      subscription: envelope.subscription ?? null,
      notification: n,
    },
  }
}

/** Job that acknowledges a Play purchase (Google refunds one left unacknowledged for 3 days). */
export const ACKNOWLEDGE_JOB = 'billing.google-acknowledge'

/** What `prepare` adds to a stored notification: the purchase as the Play Developer API showed it then. */
export interface PlayLookup {
  fetched_at: string
  /** SubscriptionPurchaseV2; absent when the API knows no such purchase (`unknown` is its HTTP status). */
  purchase?: PlaySubscription
  unknown?: number
}

/**
 * With a service account configured, a subscription notification is enriched with the purchase's
 * state from subscriptionsv2.get, outside the transaction. A failing call fails the delivery
 * (stored, retried, 5xx to Pub/Sub); a purchase Google no longer knows keeps the notification's state.
 */
export function googlePreparer(api: PlayApi) {
  return async (payload: any) => {
    const token = payload?.notification?.subscriptionNotification?.purchaseToken
    if (!api.configured || typeof token !== 'string') return payload
    const fetchedAt = new Date().toISOString()
    try {
      return {
        ...payload,
        play: { fetched_at: fetchedAt, purchase: await api.subscription(token) } satisfies PlayLookup,
      }
    } catch (err) {
      if (err instanceof PlayPurchaseUnknown)
        return { ...payload, play: { fetched_at: fetchedAt, unknown: err.httpStatus } satisfies PlayLookup }
      throw err
    }
  }
}

export interface GoogleApplierDeps {
  config: BillingConfig
  accounts: Accounts
  store: SubscriptionStore
  jobs: JobQueue
  notify: (userId: string, source: 'google') => unknown
}

/**
 * Stores a purchase as the Play Developer API showed it at `fetchedAt` (a notification's
 * preparer or a link call read it) and, when Google still waits for the acknowledgement of an
 * active purchase, enqueues it in `tx` (only if the state commits). Undefined when the stored
 * state is newer or the API's state is one we do not know.
 */
export async function putPlayPurchase(
  d: Pick<GoogleApplierDeps, 'config' | 'store' | 'jobs'>,
  p: { userId: string; token: string; purchase: PlaySubscription; fetchedAt: Date; productId: string },
  tx: Tx,
) {
  const state = playState(p.purchase, p.fetchedAt.getTime())
  if (!state) return undefined
  const productId = state.productId ?? p.productId
  const row = await d.store.put(
    {
      ...state,
      userId: p.userId,
      source: 'google',
      externalId: p.token,
      // The API's answer is the purchase's state when it was read: newer than any notification before.
      at: p.fetchedAt,
      productId,
      plan: planFor(d.config, productId),
      environment: p.purchase.testPurchase ? 'test' : 'production',
    },
    tx,
  )
  const active = state.status === 'active' || state.status === 'in_grace_period'
  if (row && active && p.purchase.acknowledgementState === 'ACKNOWLEDGEMENT_STATE_PENDING') {
    await d.jobs.enqueue(
      ACKNOWLEDGE_JOB,
      { product_id: productId, purchase_token: p.token },
      { tx, uniqueKey: p.token, maxAttempts: 10, backoffMs: 60_000 },
    )
  }
  return row
}

export function googleApplier(d: GoogleApplierDeps): Applier {
  /**
   * The user of a purchase: its link, else the user of the purchase it replaces (an upgrade gets a
   * new token with linkedPurchaseToken), else the user whose appAccountToken the app passed to
   * Play Billing as obfuscatedAccountId. The last two are linked on the way.
   */
  const userOf = async (token: string, purchase: PlaySubscription | undefined, productId: string | null, tx: Tx) => {
    const link = await d.accounts.linkOf('google', token, tx)
    if (link) return link
    let userId: string | undefined
    if (purchase?.linkedPurchaseToken)
      userId = (await d.accounts.linkOf('google', purchase.linkedPurchaseToken, tx))?.user_id
    const account = purchase?.externalAccountIdentifiers?.obfuscatedExternalAccountId
    if (!userId && account) userId = await d.accounts.userOfAppAccountToken(account, tx)
    if (!userId || !productId) return undefined
    return d.accounts.link({ userId, platform: 'google', purchaseToken: token, productId }, tx)
  }

  return async (ev: StoredEvent, tx: Tx): Promise<Outcome> => {
    const n = ev.payload.notification
    const sub = n.subscriptionNotification
    const voided = n.voidedPurchaseNotification
    const play: PlayLookup | undefined = ev.payload.play
    const fromApi = play?.purchase ? playState(play.purchase, Date.parse(play.fetched_at)) : undefined
    const change = sub
      ? TYPES[sub.notificationType]
      : voided && voided.productType === 1
        ? { name: 'VOIDED_PURCHASE', status: 'revoked', cancel: false }
        : undefined
    if (!fromApi && !change?.status) return { status: 'ignored', note: `${ev.type} does not change a subscription` }
    const token: string = sub?.purchaseToken ?? voided?.purchaseToken
    if (typeof token !== 'string' || !token) return { status: 'ignored', note: 'no purchase token' }
    await d.accounts.lock('google', token, tx)
    const productId: string | null = fromApi?.productId ?? sub?.subscriptionId ?? null
    const link = await userOf(token, play?.purchase, productId, tx)
    if (!link) return { status: 'unmatched', subject: token, note: 'purchase not linked to a user yet' }
    const row = fromApi
      ? await putPlayPurchase(
          d,
          {
            userId: link.user_id,
            token,
            purchase: play!.purchase!,
            fetchedAt: new Date(play!.fetched_at),
            productId: productId ?? link.product_id,
          },
          tx,
        )
      : await d.store.put(
          {
            userId: link.user_id,
            source: 'google',
            externalId: token,
            at: ev.occurred_at ?? ev.received_at,
            productId: productId ?? link.product_id,
            plan: planFor(d.config, productId ?? link.product_id),
            status: change!.status!,
            // Notifications carry no expiry: without the API the stored one is kept (null = unknown).
            currentPeriodEnd: null,
            cancelAtPeriodEnd: change!.cancel ?? false,
          },
          tx,
        )
    if (!row)
      return {
        status: 'ignored',
        userId: link.user_id,
        subject: token,
        note: 'older than the stored state of this subscription',
      }
    return { status: 'applied', userId: link.user_id, subject: token, after: () => d.notify(link.user_id, 'google') }
  }
}

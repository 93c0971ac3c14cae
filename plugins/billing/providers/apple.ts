/** App Store Server Notifications v2: the signed payload and the transaction and renewal inside it, checked, then applied. */
import type { X509Certificate } from 'node:crypto'
import { badRequest, serviceUnavailable } from '../../../core/index.ts'
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
import { AppleJwsError, verifyAppleJws } from './apple-jws.ts'
import type { OcspChecker } from './apple-ocsp.ts'
import {
  bodyDigest,
  malformedOf,
  optInteger,
  optObject,
  optString,
  ShapeError,
  string,
  type Malformed,
  type Obj,
} from './shape.ts'

/** `data.status` of a v2 notification. */
const STATUS_CODES: Record<number, string> = {
  1: 'active',
  2: 'expired',
  3: 'past_due',
  4: 'in_grace_period',
  5: 'revoked',
}
/** Types that change a subscription (SUBSCRIBED, DID_RENEW, EXPIRED, REFUND and the rest of docs/plugins/billing.md#how-events-are-applied). */
const HANDLED = new Set([
  'SUBSCRIBED',
  'DID_RENEW',
  'EXPIRED',
  'REFUND',
  'REVOKE',
  'REFUND_REVERSED',
  'DID_FAIL_TO_RENEW',
  'GRACE_PERIOD_EXPIRED',
  'DID_CHANGE_RENEWAL_STATUS',
  'DID_CHANGE_RENEWAL_PREF',
  'OFFER_REDEEMED',
  'RENEWAL_EXTENDED',
  'PRICE_INCREASE',
])

const reject = (err: unknown): never => {
  if (err instanceof AppleJwsError) {
    throw badRequest(err.kind === 'decode' ? 'Undecodable App Store notification' : 'Invalid App Store signature', {
      provider: 'apple',
      reason: err.reason,
    })
  }
  throw err
}

/** The notification's fields read here and by the applier (the signed infos are checked once decoded). */
function checkNotification(n: Obj) {
  string(n.notificationUUID, 'notificationUUID')
  string(n.notificationType, 'notificationType')
  optString(n.subtype, 'subtype')
  optInteger(n.signedDate, 'signedDate')
  const at = n.data !== undefined && n.data !== null ? 'data' : 'summary'
  const d = optObject(n[at], at)
  if (!d) return
  for (const k of ['bundleId', 'environment', 'signedTransactionInfo', 'signedRenewalInfo'])
    optString(d[k], `${at}.${k}`)
  if (typeof d.appAppleId !== 'string') optInteger(d.appAppleId, `${at}.appAppleId`)
  optInteger(d.status, `${at}.status`)
}

const TRANSACTION = 'data.signedTransactionInfo'
function checkTransaction(t: Obj) {
  string(t.originalTransactionId, `${TRANSACTION}.originalTransactionId`)
  for (const k of ['appAccountToken', 'productId', 'bundleId', 'environment']) optString(t[k], `${TRANSACTION}.${k}`)
  optInteger(t.expiresDate, `${TRANSACTION}.expiresDate`)
}

const RENEWAL = 'data.signedRenewalInfo'
function checkRenewal(r: Obj) {
  optInteger(r.autoRenewStatus, `${RENEWAL}.autoRenewStatus`)
  for (const k of ['bundleId', 'environment']) optString(r[k], `${RENEWAL}.${k}`)
}

/**
 * Verifies the body `{signedPayload}` and what it carries; a forged or foreign notification is 400
 * and nothing is stored. A genuine one without the shape the applier reads comes back `malformed`
 * (stored as rejected).
 */
export async function verifyAppleNotification(
  raw: string,
  config: BillingConfig,
  roots: readonly X509Certificate[],
  ocsp: OcspChecker | undefined,
): Promise<InboundEvent> {
  if (!config.appleBundleId)
    throw serviceUnavailable('App Store notifications are not configured', { missing: 'APPLE_BUNDLE_ID' })
  let body: { signedPayload?: unknown }
  try {
    body = JSON.parse(raw)
  } catch {
    throw badRequest('Undecodable App Store notification', { provider: 'apple' })
  }
  if (!body || typeof body.signedPayload !== 'string')
    throw badRequest('Undecodable App Store notification: signedPayload is required', { provider: 'apple' })
  const options = { ocsp }
  const notification = await verifyAppleJws(body.signedPayload, roots, options).catch(reject)
  /** Signed by Apple but not usable: stored as rejected under its notificationUUID when it has one. */
  const rejected = (malformed: Malformed, payload: unknown): InboundEvent => ({
    provider: 'apple',
    eventId:
      typeof notification.notificationUUID === 'string' && notification.notificationUUID
        ? notification.notificationUUID
        : bodyDigest(raw),
    type:
      typeof notification.notificationType === 'string' && notification.notificationType
        ? notification.notificationType
        : 'unknown',
    payload,
    malformed,
  })
  const outer = malformedOf(() => checkNotification(notification))
  if (outer) return rejected(outer, { notification, transaction: null, renewal: null })

  const data = (notification.data ?? notification.summary ?? {}) as Record<string, any>
  const refuse = (reason: string) =>
    badRequest(`App Store notification refused: ${reason}`, { provider: 'apple', reason })
  if (data.bundleId !== config.appleBundleId) throw refuse('bundle id')
  if (!config.appleEnvironments.includes(data.environment)) throw refuse('environment')
  if (config.appleAppId && data.environment === 'Production' && String(data.appAppleId) !== config.appleAppId)
    throw refuse('app id')

  const inner = async (jws: unknown, requireBundle: boolean, check: (decoded: Obj) => void) => {
    if (jws === undefined || jws === null) return undefined
    const decoded = await verifyAppleJws(jws, roots, options).catch(reject)
    check(decoded)
    // Transactions carry the bundle id; renewal info does not (when it does, it must match).
    if ((requireBundle || decoded.bundleId !== undefined) && decoded.bundleId !== config.appleBundleId)
      throw refuse('bundle id of the signed transaction')
    if (decoded.environment !== undefined && decoded.environment !== data.environment)
      throw refuse('environment of the signed transaction')
    return decoded
  }
  const { signedTransactionInfo: _t, signedRenewalInfo: _r, ...rest } = data
  let transaction: Obj | undefined
  let renewal: Obj | undefined
  try {
    transaction = await inner(data.signedTransactionInfo, true, checkTransaction)
    renewal = await inner(data.signedRenewalInfo, false, checkRenewal)
  } catch (err) {
    if (!(err instanceof ShapeError)) throw err
    return rejected(
      { field: err.field, message: err.message },
      { notification: { ...notification, data: rest }, transaction: transaction ?? null, renewal: null },
    )
  }
  return {
    provider: 'apple',
    eventId: notification.notificationUUID,
    type: notification.subtype
      ? `${notification.notificationType}.${notification.subtype}`
      : notification.notificationType,
    occurredAt: typeof notification.signedDate === 'number' ? new Date(notification.signedDate) : null,
    subject: (transaction?.originalTransactionId as string | undefined) ?? null,
    environment: data.environment,
    payload: {
      notification: { ...notification, data: rest },
      transaction: transaction ?? null,
      renewal: renewal ?? null,
    },
  }
}

/** Subscription status after a notification: by type, else `data.status`, else from the expiry. */
function statusOf(
  type: string,
  subtype: string | undefined,
  code: number | undefined,
  expires: number | undefined,
  at: number,
): string {
  if (type === 'REFUND') return 'refunded'
  if (type === 'REVOKE') return 'revoked'
  if (type === 'EXPIRED' || type === 'GRACE_PERIOD_EXPIRED') return 'expired'
  if (type === 'DID_FAIL_TO_RENEW') return subtype === 'GRACE_PERIOD' ? 'in_grace_period' : 'past_due'
  if (code && STATUS_CODES[code]) return STATUS_CODES[code]!
  return expires && expires < at ? 'expired' : 'active'
}

export interface AppleApplierDeps {
  config: BillingConfig
  accounts: Accounts
  store: SubscriptionStore
  notify: (userId: string, source: 'apple') => unknown
}

export function appleApplier(d: AppleApplierDeps): Applier {
  return async (ev: StoredEvent, tx: Tx): Promise<Outcome> => {
    const { notification, transaction, renewal } = ev.payload as { notification: any; transaction: any; renewal: any }
    const type: string = notification.notificationType
    if (!HANDLED.has(type)) return { status: 'ignored', note: `notification type ${type} is not handled` }
    if (!transaction?.originalTransactionId) return { status: 'ignored', note: 'no signed transaction' }
    const original = String(transaction.originalTransactionId)
    // The appAccountToken the server issued to the user, else a purchase the app linked.
    await d.accounts.lock('apple', original, tx)
    let userId =
      typeof transaction.appAccountToken === 'string'
        ? await d.accounts.userOfAppAccountToken(transaction.appAccountToken, tx)
        : undefined
    userId ??= (await d.accounts.linkOf('apple', original, tx))?.user_id
    if (!userId)
      return { status: 'unmatched', subject: original, note: 'no user for this appAccountToken or transaction yet' }
    const at = ev.occurred_at ?? new Date()
    const row = await d.store.put(
      {
        userId,
        source: 'apple',
        externalId: original,
        at,
        productId: transaction.productId ?? null,
        plan: planFor(d.config, transaction.productId),
        status: statusOf(type, notification.subtype, notification.data?.status, transaction.expiresDate, at.getTime()),
        currentPeriodEnd: typeof transaction.expiresDate === 'number' ? new Date(transaction.expiresDate) : null,
        cancelAtPeriodEnd: renewal ? renewal.autoRenewStatus === 0 : false,
        environment: ev.environment,
      },
      tx,
    )
    if (!row)
      return { status: 'ignored', userId, subject: original, note: 'older than the stored state of this subscription' }
    return { status: 'applied', userId, subject: original, after: () => d.notify(userId!, 'apple') }
  }
}
